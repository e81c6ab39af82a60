"""An ASGI wrapper between uvicorn and the application: metrics and failure containment.

uvicorn runs one application instance per HTTP request or WebSocket; this wrapper is where the
web adapter keeps the runtime contract (docs/runtime-contract.md) for those instances:

- ``gateway_scopes_open{protocol}`` while the instance runs, ``gateway_events_in_total`` /
  ``gateway_events_out_total`` per message received / sent;
- a send to a client that has gone (uvicorn's ClientDisconnected) ends the instance
  quietly, as uvicorn itself does;
- an exception is logged once, with the scope and its traceback, and counted in
  ``gateway_handler_errors_total``; then only that connection is closed: a WebSocket with
  1011 (internal error), or a 500 response if the request had none yet. The exception does
  not reach uvicorn, so it is not logged twice.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.utils import ClientDisconnected

from gateway import metrics
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
        except Exception:
            counters.handler_errors.inc()
            logger.exception("application raised while handling %s", _describe(scope))
            await self._report_failure(protocol, connection, send)
        finally:
            counters.scopes_open.dec()

    @staticmethod
    async def _report_failure(protocol: str, progress: _Connection, send: Send) -> None:
        # Best effort: the client may already be gone, and that is not a second error.
        try:
            if protocol == "websocket":
                if progress.accepted and not progress.closed:
                    await send({"type": "websocket.close", "code": INTERNAL_ERROR})
                elif not progress.accepted and not progress.response_started:
                    await send(
                        {
                            "type": "websocket.http.response.start",
                            "status": 500,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                        }
                    )
                    await send(
                        {"type": "websocket.http.response.body", "body": b"internal server error\n"}
                    )
            elif protocol == "http" and not progress.response_started:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await send({"type": "http.response.body", "body": b"internal server error\n"})
        except Exception as exc:  # the connection is gone; nothing more to tell the client
            logger.debug("could not report the failure to the client: %r", exc)
