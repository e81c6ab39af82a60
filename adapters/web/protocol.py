"""uvicorn's sans-I/O WebSocket protocol with leaner per-connection state.

uvicorn's ``websockets-sansio`` protocol keeps, for every open WebSocket, an ``asyncio.Queue``
of ASGI events and an ``asyncio.Event`` for write flow control. Both allocate their deques up
front: about 3 KB per connection, held for hours by idle chat tabs, for a queue that never
holds more than a few events (the protocol pauses reading as soon as one message waits) and a
flag nearly always set. :class:`LeanWebSocketProtocol` swaps them for :class:`EventQueue` and
:class:`Flag`, which implement exactly what the protocol calls, with plain lists created empty.
Four fixes to uvicorn 0.54, each where the fault lives (and each ready to go upstream as is):

- a handshake the ``websockets`` parser refuses (a header line over 8 KB, more than 128
  headers, a request it cannot parse) left its 431/414 queued in the sans-I/O connection and
  never written: uvicorn only flushes output from its event handlers, and a refused handshake
  raises no event. :meth:`LeanWebSocketProtocol.data_received` flushes it, answers 400 when
  ``websockets`` queued no answer, closes the connection and logs one INFO line;
- a text message that is not UTF-8 closed with 1007 but logged an ERROR with a traceback, for
  a client's fault: now one INFO line (:meth:`~LeanWebSocketProtocol.send_receive_event_to_app`,
  uvicorn's method with only the log changed, so the per-message path costs the same);
- a client that sends a message and then breaks the protocol (invalid UTF-8, a message over
  the size limit, a bad frame) had the application's answer to the first message raise
  uvicorn's RuntimeError "after sending 'websocket.close'", logged with a traceback: the
  close was the protocol's, so the send now raises ClientDisconnected, as on a lost
  connection (:attr:`~LeanWebSocketProtocol.closed_by_protocol`);
- a handshake refused with an HTTP response (``websocket.http.response.*``: our 404 for an
  unknown path, 500 for a consumer that raised) left ``handshake_complete`` false, so uvicorn
  also logged "ASGI callable returned without completing handshake" as an ERROR.

Everything else (parsing, 1009 for oversized messages, pings, closing) is uvicorn's, unchanged,
with one fast path: a ``websocket.send`` on an open connection without extensions (no
permessage-deflate) and with nothing else queued is framed by :func:`encode_server_frame`
and written at once, skipping the ``Frame`` object, its checks and the ``BytesIO`` that
``websockets`` builds for every frame (a broadcast delivery is one such send).

This relies on names of uvicorn 0.54's ``WebSocketsSansIOProtocol`` (``queue``, ``writable``,
``conn``, ``frames``, ``curr_msg_data_type``, ``read_paused``, ``handle_events``,
``handle_parser_exception``, ``keepalive_timeout``); requirements.txt pins that version, and
tests/unit/web/test_protocol.py and tests/unit/adapters/web/test_websocket_protocol.py check the
names still exist.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from adapters.web.http_protocol import error_response, peer

logger = logging.getLogger(__name__)

__all__ = ["EventQueue", "Flag", "LeanWebSocketProtocol", "encode_server_frame"]

#: RFC 6455 5.2 opcodes of data frames.
OP_TEXT = 0x1
OP_BINARY = 0x2


def encode_server_frame(opcode: int, payload: bytes) -> bytes:
    """Encode one final, unmasked, uncompressed frame, as a server sends it (RFC 6455 5.2).

    Byte for byte what ``websockets.frames.Frame(opcode, payload).serialize(mask=False)``
    gives (a property test checks it).

    Args:
        opcode: :data:`OP_TEXT` or :data:`OP_BINARY`.
        payload: the frame's payload (UTF-8 for text).
    """
    head = 0x80 | opcode  # FIN set, RSV1-3 clear
    length = len(payload)
    # "The length of the "Payload data", in bytes: if 0-125, that is the payload length. If
    # 126, the following 2 bytes [...]. If 127, the following 8 bytes [...]"
    if length < 126:
        return bytes((head, length)) + payload
    if length < 65536:
        return struct.pack("!BBH", head, 126, length) + payload
    return struct.pack("!BBQ", head, 127, length) + payload


def _wake_first(waiters: list[asyncio.Future[None]]) -> None:
    """Wake the first waiter still waiting (cancelled ones are skipped and dropped)."""
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return


class EventQueue:
    """The part of ``asyncio.Queue`` (unbounded) that uvicorn's WebSocket protocol uses.

    FIFO; ``get`` waits while empty; a ``get`` cancelled while waiting loses nothing (the
    item stays queued and the wake-up passes to the next waiter), as with ``asyncio.Queue``.
    """

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        """Append ``item`` and wake one waiting ``get``."""
        self._items.append(item)
        if self._waiters:
            _wake_first(self._waiters)

    async def get(self) -> Any:
        """Remove and return the first item, waiting for one if the queue is empty."""
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif self._items and not waiter.cancelled():
                    # Woken and cancelled at once: pass the wake-up on.
                    _wake_first(self._waiters)
                raise
        # A handful of events at most (uvicorn pauses reading while one waits): pop(0) is cheap.
        return self._items.pop(0)

    def empty(self) -> bool:
        """True when no item is queued."""
        return not self._items

    def qsize(self) -> int:
        """Number of queued items."""
        return len(self._items)


class Flag:
    """The part of ``asyncio.Event`` uvicorn's protocol uses for ``writable``; starts set."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        """True when set."""
        return self._set

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Clear the flag: ``wait`` blocks until the next ``set``."""
        self._set = False

    async def wait(self) -> bool:
        """Return at once when set, else wait for ``set``; returns True like asyncio.Event."""
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


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
