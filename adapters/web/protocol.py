"""uvicorn's sans-I/O WebSocket protocol with leaner per-connection state.

uvicorn's ``websockets-sansio`` protocol keeps, for every open WebSocket, an ``asyncio.Queue``
of ASGI events and an ``asyncio.Event`` for write flow control. Both allocate their deques up
front: about 3 KB per connection, held for hours by idle chat tabs, for a queue that never
holds more than a few events (the protocol pauses reading as soon as one message waits) and a
flag nearly always set. :class:`LeanWebSocketProtocol` swaps them for :class:`EventQueue` and
:class:`Flag`, which implement exactly what the protocol calls, with plain lists created empty.
Everything else (parsing, 1009 for oversized messages, pings, closing) is uvicorn's, unchanged.

This relies on two attribute names of uvicorn 0.54's ``WebSocketsSansIOProtocol`` (``queue``
and ``writable``); requirements.txt pins that version, and tests/unit/web/test_protocol.py
checks the names still exist.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["EventQueue", "Flag", "LeanWebSocketProtocol"]


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = EventQueue()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
