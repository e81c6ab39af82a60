"""The lean per-connection state and fast framing behind our uvicorn WebSocket protocol.

uvicorn's ``websockets-sansio`` protocol keeps, for every open WebSocket, an ``asyncio.Queue``
of ASGI events and an ``asyncio.Event`` for write flow control. Both allocate their deques up
front: about 3 KB per connection, held for hours by idle chat tabs, for a queue that never
holds more than a few events (the protocol pauses reading as soon as one message waits) and a
flag nearly always set. :class:`EventQueue` and :class:`Flag` implement exactly what the
protocol calls, with plain lists created empty; ``LeanWebSocketProtocol``
(:mod:`adapters.web.uvicorn_compat`, which holds every uvicorn internal we rely on) swaps
them in. Everything else (parsing, 1009 for oversized messages, pings, closing) is uvicorn's,
unchanged, with one fast path: a ``websocket.send`` on an open connection without extensions
(no permessage-deflate) and with nothing else queued is framed by :func:`encode_server_frame`
and written at once, skipping the ``Frame`` object, its checks and the ``BytesIO`` that
``websockets`` builds for every frame (a broadcast delivery is one such send).
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from gateway.waiters import wake_all, wake_first

__all__ = ["OP_BINARY", "OP_TEXT", "EventQueue", "Flag", "encode_server_frame"]

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
            wake_first(self._waiters)

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
                    wake_first(self._waiters)
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
        wake_all(self._waiters)

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
