"""Wake parked tasks: the one helper behind every "wait for room / for a message" queue.

A waiter is a future a task awaits (``await waiter``); whoever frees what it waits for sets its
result. A waiter that was cancelled meanwhile is skipped, as ``asyncio.Queue`` does, so the
wake-up goes to a task that is still there. A woken task that is cancelled before it runs must
pass its wake-up on (call :func:`wake_first` again), or the next waiter would sleep forever.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import MutableSequence

#: Parked futures, oldest first: a deque, or a list for queues that stay short.
Waiters = deque[asyncio.Future[None]] | MutableSequence[asyncio.Future[None]]


def wake_first(
    waiters: deque[asyncio.Future[None]] | MutableSequence[asyncio.Future[None]],
) -> bool:
    """Wake the first waiter still waiting and drop it, with every cancelled one before it.

    Args:
        waiters: the parked futures, oldest first (a deque, or a list for short queues).

    Returns:
        True when a waiter was woken; False when none was waiting (the sequence is then empty).
    """
    if isinstance(waiters, deque):
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False
    while waiters:
        waiter = waiters.pop(0)
        if not waiter.done():
            waiter.set_result(None)
            return True
    return False


async def park(waiters: Waiters, loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Wait in line: append a new waiter to ``waiters`` and return once it is woken.

    If the task is cancelled, the waiter is cancelled too; if it had been woken already, the
    wake-up is passed on to the next waiter (the room it was woken for is not used).

    Args:
        waiters: the line to wait in.
        loop: the running loop, when the caller has it at hand (saves a lookup).
    """
    waiter: asyncio.Future[None] = (loop or asyncio.get_running_loop()).create_future()
    waiters.append(waiter)
    try:
        await waiter
    except BaseException:
        woken = waiter.done() and not waiter.cancelled()
        waiter.cancel()
        if woken:
            wake_first(waiters)
        raise


def wake_all(waiters: Waiters) -> None:
    """Wake every waiter still waiting and empty the sequence (e.g. the queue was closed)."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()
