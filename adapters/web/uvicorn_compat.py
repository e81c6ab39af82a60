"""Every uvicorn internal the web adapter overrides, in one module, for one uvicorn version.

- :class:`LeanWebSocketProtocol` subclasses uvicorn's ``WebSocketsSansIOProtocol``: it
  replaces the ``queue`` and ``writable`` attributes its ``__init__`` sets with the leaner
  :class:`~adapters.web.protocol.EventQueue` and :class:`~adapters.web.protocol.Flag`, and
  its ``send`` takes a fast path that reads ``conn``, ``handshake_complete``, ``close_sent``,
  ``initial_response``, ``disconnected`` and ``transport``.
  Four fixes, each where the fault lives (and each ready to go upstream as is): a handshake
  the ``websockets`` parser refuses (a header line over 8 KB, more than 128 headers, a request
  it cannot parse) had its 431/414 queued and never written: ``data_received`` flushes it (400
  when nothing was queued), closes and logs one INFO line; a text message that is not UTF-8
  closes with 1007 and one INFO line instead of a traceback (``send_receive_event_to_app``,
  uvicorn's method with only that changed); an application answering a message the client
  sent just before breaking the protocol (1002/1007/1009, missed pong) gets
  ClientDisconnected, as on a lost connection, instead of uvicorn's RuntimeError and its
  traceback (``closed_by_protocol``); a handshake refused with an HTTP response (our 404 for
  an unknown path) counts as complete, so uvicorn logs no false "returned without completing
  handshake" ERROR.
- :class:`LimitedHttpToolsProtocol` subclasses uvicorn's ``HttpToolsProtocol``, which (with
  llhttp under it) bounds neither the request line, nor the size or number of header fields,
  nor the time a client takes to send them. It answers such requests itself and closes the
  connection before any application code runs: a request line over ``max_header_line``: 414;
  a header line over it, more than ``max_headers`` fields or a header block over
  ``max_header_bytes`` (counted per read, so a client costs at most that plus one read): 431;
  headers incomplete ``header_timeout`` seconds after the connection (or a keep-alive
  request's first byte): 408, on a :class:`~gateway.clock.Clock`; past ``max_connections``
  open connections: 503 at once (:class:`~adapters.web.limits.ConnectionGate` logs when that
  starts and ends). WebSocket upgrades are HTTP requests until their headers are complete,
  so the same limits apply to handshakes. It relies on ``parser``, ``url``, ``headers``,
  ``_unset_keepalive_if_required``, ``_should_upgrade``, ``handle_websocket_upgrade``,
  ``send_400_response`` and ``_unsupported_upgrade_warning``.
- :class:`EmbeddedServer` subclasses ``uvicorn.Server``: ``capture_signals`` installs nothing
  (``runadapter`` owns the signals) and ``startup`` says when it listens.

None of these is uvicorn's documented API. They were checked against uvicorn
:data:`SUPPORTED_UVICORN` exactly: importing this module with another version installed
raises :class:`~gateway.exceptions.UnsupportedDependency`, and
tests/unit/gateway/test_versions.py fails when requirements.txt pins another version. To
upgrade uvicorn: read the new ``websockets_sansio_impl.py`` (``__init__``, ``send``) and
``httptools_impl.py`` (the methods above) and ``server.py`` (``capture_signals``,
``startup``), run tests/unit/adapters/web and
tests/integration/web, then raise :data:`SUPPORTED_UVICORN` with the pin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any, ClassVar

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from adapters.web.limits import ConnectionGate, WebLimits
from adapters.web.protocol import OP_BINARY, OP_TEXT, EventQueue, Flag, encode_server_frame
from adapters.web.responses import Rejected, error_response, peer
from gateway.clock import Clock, LoopClock, TimerHandleLike
from gateway.versions import require_version

logger = logging.getLogger(__name__)

__all__ = [
    "SUPPORTED_UVICORN",
    "EmbeddedServer",
    "LeanWebSocketProtocol",
    "LimitedHttpToolsProtocol",
]

#: The one uvicorn version the overrides below were checked against.
SUPPORTED_UVICORN = "0.54.0"
require_version("uvicorn", SUPPORTED_UVICORN, module=__name__)


class EmbeddedServer(uvicorn.Server):
    """uvicorn's Server without its signal handlers, telling us when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # `runadapter` owns SIGTERM/SIGINT for every adapter in the process; it sets our
        # stop event, and a second signal cancels us (see serve()).
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` WebSocket protocol with :class:`EventQueue` and
    :class:`Flag` in place of its ``asyncio.Queue`` and ``asyncio.Event``."""

    #: Set once the protocol itself closed the connection (the client broke the protocol:
    #: 1002, 1007, 1009; or stopped answering pings: 1011). The application may still be
    #: answering a message that came before: its sends then raise ClientDisconnected, as on a
    #: lost connection, instead of uvicorn's RuntimeError "after sending 'websocket.close'"
    #: (meant for an application that sends after its own close), which a client could use
    #: to make us log tracebacks. A class default, so it costs open connections nothing.
    closed_by_protocol = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = EventQueue()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]

    def handle_parser_exception(self) -> None:
        """uvicorn's: close with the code the parser chose; remember the app did not close."""
        self.closed_by_protocol = True
        super().handle_parser_exception()

    def keepalive_timeout(self) -> None:
        """uvicorn's: close with 1011 on a missed pong; remember the app did not close."""
        self.closed_by_protocol = True
        super().keepalive_timeout()

    def data_received(self, data: bytes) -> None:
        """uvicorn's ``data_received``, plus the answer to a handshake ``websockets`` refused."""
        conn = self.conn
        conn.receive_data(data)
        if conn.parser_exc is not None:
            self.handle_parser_exception()
            return
        # None once the handshake was parsed: one attribute test per frame, as cheap as it gets.
        if conn.handshake_exc is not None and not self.handshake_initiated:
            self._refuse_handshake(conn.handshake_exc)
            return
        self.handle_events()

    def _refuse_handshake(self, exc: Exception) -> None:
        # websockets queued its answer (431 for headers over its limits, 414 for a long
        # request line) followed by the end of the stream (b""); for a request it could not
        # parse it queued only the end. Either way the client gets an answer and a close.
        output = b"".join(self.conn.data_to_send())
        if not output:
            output = error_response(400, "invalid WebSocket handshake request")
        status = output[9:12].decode("ascii", "replace")
        self.handshake_initiated = self.handshake_complete = self.close_sent = True
        logger.info(
            "web: %s: WebSocket handshake refused (%s); answered %s and closed",
            peer(self.client),
            exc,
            status,
        )
        self.transport.write(output)
        self.transport.close()

    def send_receive_event_to_app(self) -> None:
        """Queue a complete message for the application (uvicorn's method, one log line changed)."""
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            # The app is past `websocket.close`: discard the message rather than queueing
            # it, so reads stay active until the peer's close reply arrives.
            return
        if self.curr_msg_data_type == "text":
            try:
                self.queue.put_nowait({"type": "websocket.receive", "text": data.decode()})
            except UnicodeDecodeError as exc:
                # The client's fault, not ours: one line, no traceback (RFC 6455 8.1: "When an
                # endpoint is to interpret a byte stream as UTF-8 but finds that the byte
                # stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the
                # WebSocket Connection_").
                logger.info(
                    "web: %s: text message is not UTF-8 (%s); closed with 1007",
                    peer(self.client),
                    exc.reason,
                )
                self.conn.send_close(1007, "invalid UTF-8")
                self.handle_parser_exception()
                return
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": data})
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    async def send(self, message: Any) -> None:
        """Send an ASGI event; a data frame on a plain open connection takes the fast path."""
        conn = self.conn
        if (
            message["type"] != "websocket.send"
            or not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
            or conn.extensions
            or conn.writes  # keep the order of anything websockets has queued
            or conn.expect_continuation_frame
        ):
            if self.closed_by_protocol:
                raise ClientDisconnected()
            await super().send(message)
            if self.initial_response is not None and self.close_sent:
                # A refusal sent as an HTTP response completes the handshake, by refusing it.
                self.handshake_complete = True
            return
        if not self.writable.is_set():
            await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if conn.state is not State.OPEN:  # closing: websockets raises, uvicorn translates
            await super().send(message)
            return
        data = message.get("bytes")
        if data is not None:
            frame = encode_server_frame(OP_BINARY, data)
        else:
            text = message.get("text")
            if text is None:  # neither: uvicorn's send ignores it
                return
            frame = encode_server_frame(OP_TEXT, text.encode())
        self.transport.write(frame)


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
        # uvicorn's data_received with the header limits; see this module's docstring.
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
