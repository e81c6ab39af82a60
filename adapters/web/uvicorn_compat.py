"""Every uvicorn internal the web adapter overrides, in one module, for one uvicorn version.

- :class:`LeanWebSocketProtocol` subclasses uvicorn's ``WebSocketsSansIOProtocol``: it
  replaces the ``queue`` and ``writable`` attributes its ``__init__`` sets with the leaner
  :class:`~adapters.web.protocol.EventQueue` and :class:`~adapters.web.protocol.Flag`, and
  its ``send`` takes a fast path that reads ``conn``, ``handshake_complete``, ``close_sent``,
  ``initial_response``, ``disconnected`` and ``transport``.
- :class:`EmbeddedServer` subclasses ``uvicorn.Server``: ``capture_signals`` installs nothing
  (``runadapter`` owns the signals) and ``startup`` says when it listens.

None of these is uvicorn's documented API. They were checked against uvicorn
:data:`SUPPORTED_UVICORN` exactly: importing this module with another version installed
raises :class:`~gateway.exceptions.UnsupportedDependency`, and
tests/unit/gateway/test_versions.py fails when requirements.txt pins another version. To
upgrade uvicorn: read the new ``websockets_sansio_impl.py`` (``__init__``, ``send``) and
``server.py`` (``capture_signals``, ``startup``), run tests/unit/adapters/web and
tests/integration/web, then raise :data:`SUPPORTED_UVICORN` with the pin.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from adapters.web.protocol import OP_BINARY, OP_TEXT, EventQueue, Flag, encode_server_frame
from gateway.versions import require_version

__all__ = ["SUPPORTED_UVICORN", "EmbeddedServer", "LeanWebSocketProtocol"]

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = EventQueue()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]

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
            await super().send(message)
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
