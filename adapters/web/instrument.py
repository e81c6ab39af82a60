"""An ASGI wrapper between uvicorn and the application: metrics and failure containment.

uvicorn runs one application instance per HTTP request or WebSocket; this wrapper is where the
web adapter keeps the runtime contract (docs/runtime-contract.md) for those instances:

- ``gateway_scopes_open{protocol}`` while the instance runs, ``gateway_events_in_total`` /
  ``gateway_events_out_total`` per message received / sent;
- a send to a client that has gone (uvicorn's ClientDisconnected) ends the instance
  quietly, as uvicorn itself does;
- a scope no route matches (:class:`~gateway.exceptions.NoRouteFound` before any response) is
  the client's mistake, not ours: one INFO line and a 404 (a WebSocket handshake is refused
  with an HTTP 404, as the ASGI "websocket.http.response" extension allows);
- any other exception is logged once, with the scope and its traceback, and counted in
  ``gateway_handler_errors_total``; then only that connection is closed: a WebSocket with
  1011 (internal error), or a 500 response if the request had none yet. The exception does
  not reach uvicorn, so it is not logged twice.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.utils import ClientDisconnected

from gateway import metrics
from gateway.exceptions import NoRouteFound
from gateway.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

#: WebSocket close code 1011: "the server encountered an unexpected condition" (RFC 6455 7.4.1).
INTERNAL_ERROR = 1011


class _Connection:
    """One scope's counted ``receive``/``send`` and what it has sent so far.

    One small object per scope instead of two closures and a progress record: it is alive as
    long as the connection (hours for a WebSocket), so its size counts (docs/performance.md).
    """

    __slots__ = (
        "_receive",
        "_send",
        "accepted",
        "closed",
        "events_in",
        "events_out",
        "response_started",
    )

    def __init__(self, receive: Receive, send: Send, counters: metrics.ProtocolMetrics) -> None:
        self._receive = receive
        self._send = send
        self.events_in = counters.count_in
        self.events_out = counters.count_out
        self.accepted = False
        self.closed = False
        self.response_started = False

    async def receive(self) -> Message:
        message = await self._receive()
        self.events_in(1)
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        # websocket.send first: it is nearly every message, and changes no progress flag.
        if kind != "websocket.send" and kind != "http.response.body":
            if kind == "websocket.accept":
                self.accepted = True
            elif kind == "websocket.close":
                self.closed = True
            elif kind == "http.response.start" or kind == "websocket.http.response.start":
                self.response_started = True
        await self._send(message)
        self.events_out(1)


def _describe(scope: Scope) -> str:
    client = scope.get("client")
    peer = f" from {client[0]}:{client[1]}" if client else ""
    return f"{scope['type']} {scope.get('path', '')!r}{peer}"


class InstrumentedApplication:
    """Wrap an ASGI application so each scope is counted and its failures contained.

    Args:
        app: the application to serve (settings.ASGI_APPLICATION).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        protocol = scope["type"]
        if protocol == "lifespan":
            await self.app(scope, receive, send)
            return
        counters = metrics.for_protocol(protocol)
        connection = _Connection(receive, send, counters)

        counters.scopes_open.inc()
        try:
            await self.app(scope, connection.receive, connection.send)
        except ClientDisconnected:
            # The client left while the application was sending: its disconnect event is
            # already queued, so this is the end of the conversation, not a bug.
            logger.debug("client went away during %s", _describe(scope))
        except Exception as exc:
            if isinstance(exc, NoRouteFound) and not (
                connection.accepted or connection.response_started
            ):
                logger.info("web: %s: %s; answered 404", _describe(scope), exc)
                await self._respond(protocol, send, 404, b"not found\n")
            else:  # a NoRouteFound after accepting came from a consumer: our bug too
                counters.handler_errors.inc()
                logger.exception("application raised while handling %s", _describe(scope))
                await self._report_failure(protocol, connection, send)
        finally:
            counters.scopes_open.dec()

    @classmethod
    async def _report_failure(cls, protocol: str, progress: _Connection, send: Send) -> None:
        if protocol == "websocket" and progress.accepted:
            if not progress.closed:
                await cls._best_effort(send, {"type": "websocket.close", "code": INTERNAL_ERROR})
        elif not progress.response_started and not progress.closed:
            await cls._respond(protocol, send, 500, b"internal server error\n")

    @classmethod
    async def _respond(cls, protocol: str, send: Send, status: int, body: bytes) -> None:
        """A plain-text response to a request or, refusing it, to a WebSocket handshake."""
        prefix = "websocket.http.response" if protocol == "websocket" else "http.response"
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(body)),
        ]
        if await cls._best_effort(
            send, {"type": f"{prefix}.start", "status": status, "headers": headers}
        ):
            await cls._best_effort(send, {"type": f"{prefix}.body", "body": body})

    @staticmethod
    async def _best_effort(send: Send, message: Message) -> bool:
        # The client may already be gone, and that is not a second error.
        try:
            await send(message)
        except Exception as exc:  # the connection is gone; nothing more to tell the client
            logger.debug("could not send %s to the client: %r", message["type"], exc)
            return False
        return True
