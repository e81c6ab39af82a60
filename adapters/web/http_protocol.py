"""uvicorn's httptools HTTP protocol with limits on what a client may send before its request runs.

uvicorn 0.54's ``HttpToolsProtocol`` (and llhttp under it) puts no bound on the request line,
the size or number of header fields, or the time a client takes to send them: a 50 MB header
is buffered whole, 10,000 headers are accepted, and a client sending one byte a second holds
its connection for ever. :class:`LimitedHttpToolsProtocol` answers those requests itself and
closes the connection, before any application code runs:

- a request line over ``max_header_line`` bytes: 414; a header line over it, more than
  ``max_headers`` fields, or a header block over ``max_header_bytes``: 431. The block is
  counted per socket read while headers are incomplete, so a client cannot make the server
  hold more than ``max_header_bytes`` plus one read;
- headers not complete ``header_timeout`` seconds after the connection opened (or after the
  first byte of a later keep-alive request): 408. The timer takes a :class:`~gateway.clock.Clock`;
- ``max_connections`` open connections (HTTP and WebSocket) in the process: a new connection
  gets 503 at once (:class:`~adapters.web.limits.ConnectionGate` logs when that starts and ends).

Each refusal is one INFO line with the client's address; nothing reaches the application, so
nothing can raise. WebSocket upgrades are HTTP requests until their headers are complete, so
the same limits and the same answers apply to handshakes.

Everything else is uvicorn's. ``data_received`` is uvicorn's, with the limit checks added (it
must catch our rejection before uvicorn's generic "Invalid HTTP request" 400 does), and an
ignored Upgrade header is one INFO line with the client instead of an anonymous WARNING. This
relies on ``parser``, ``url``, ``headers``, ``_unset_keepalive_if_required``,
``_should_upgrade``, ``handle_websocket_upgrade``, ``send_400_response`` and
``_unsupported_upgrade_warning`` of uvicorn 0.54, which requirements.txt pins and
tests/unit/adapters/web/test_http_protocol.py checks. The same checks, contributed upstream,
would live in these very methods.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from adapters.web.limits import ConnectionGate, WebLimits
from gateway.clock import Clock, LoopClock, TimerHandleLike

logger = logging.getLogger(__name__)

__all__ = ["LimitedHttpToolsProtocol", "Rejected", "error_response", "peer"]


class Rejected(Exception):
    """Raised inside a parser callback to stop parsing; carries the answer for the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def error_response(status: int, text: str, extra: bytes = b"") -> bytes:
    """A complete ``Connection: close`` plain-text response."""
    body = text.encode("ascii", "replace") + b"\n"
    return b"".join(
        (
            STATUS_LINE[status],
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
            extra,
            b"\r\n",
            body,
        )
    )


def peer(client: tuple[str, int] | None) -> str:
    """``host:port`` of a client for log lines."""
    return f"{client[0]}:{client[1]}" if client else "client"


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that answers oversized, slow and excess requests and closes them.

    Use :meth:`configured` to get a subclass bound to limits and a clock; uvicorn creates one
    instance per TCP connection with its own arguments only.
    """

    limits: ClassVar[WebLimits] = WebLimits()
    clock: ClassVar[Clock] = LoopClock()
    gate: ClassVar[ConnectionGate] = ConnectionGate(WebLimits().max_connections)

    @classmethod
    def configured(
        cls, limits: WebLimits, clock: Clock | None = None
    ) -> type[LimitedHttpToolsProtocol]:
        """A subclass with these limits, this clock (None: the running loop's) and its own gate."""
        return type(
            cls.__name__,
            (cls,),
            {
                "limits": limits,
                "clock": clock if clock is not None else LoopClock(),
                "gate": ConnectionGate(limits.max_connections),
            },
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_headers = True
        self._header_bytes = 0
        self._header_count = 0
        self._header_timer: TimerHandleLike | None = None
        self._refused = False

    # Connection

    def connection_made(self, transport: Any) -> None:
        if not self.gate.admit(len(self.connections)):
            self._refused = True
            self.transport = transport
            transport.write(
                error_response(
                    503, "too many connections: try again in a few seconds", b"retry-after: 5\r\n"
                )
            )
            transport.close()
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's data_received with the header limits; see the module docstring.
        self._unset_keepalive_if_required()
        self._header_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            rejected = exc.__context__
            if isinstance(rejected, Rejected):
                self._reject(rejected.status, rejected.reason)
                return
            logger.info("web: %s: invalid HTTP request (%s); answered 400", peer(self.client), exc)
            self.send_400_response("Invalid HTTP request received.")
            return
        if self._reading_headers and self._header_bytes > self.limits.max_header_bytes:
            self._reject(431, f"request headers over {self.limits.max_header_bytes} bytes")

    def _unsupported_upgrade_warning(self) -> None:
        # uvicorn logs "Unsupported upgrade request." at WARNING, without saying whose: an
        # Upgrade other than websocket (h2c, say) is the client's choice, served as plain HTTP.
        logger.info("web: %s: Upgrade other than websocket ignored", peer(self.client))

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._header_count = 0
        if self._header_timer is None:
            self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_header_line:
            raise Rejected(414, f"request line over {self.limits.max_header_line} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            raise Rejected(431, f"more than {self.limits.max_headers} header fields")
        if len(name) + len(value) + 2 > self.limits.max_header_line:
            raise Rejected(
                431,
                f"header {name[:40].decode('latin-1')!r} over {self.limits.max_header_line} bytes",
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # The body is not header bytes: count afresh for the next request on this connection.
        self._header_bytes = 0
        super().on_message_complete()

    # Limits

    def _arm_header_timer(self) -> None:
        timeout = self.limits.header_timeout
        if timeout is not None:
            self._header_timer = self.clock.call_at(
                self.clock.time() + timeout, self._header_timeout
            )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._reading_headers and not self.transport.is_closing():
            timeout = self.limits.header_timeout
            self._reject(408, f"request headers not complete after {timeout:g} s")

    def _reject(self, status: int, reason: str) -> None:
        """Answer `status` with `reason`, close the connection, log one line."""
        self._cancel_header_timer()
        self._reading_headers = False
        if self.transport.is_closing():
            return
        logger.info("web: %s: %s; answered %d and closed", peer(self.client), reason, status)
        self.transport.write(error_response(status, reason))
        self.transport.close()
