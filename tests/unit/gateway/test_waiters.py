"""wake_first / wake_all: the first waiter still waiting is woken; cancelled ones are skipped."""

from __future__ import annotations

import asyncio
from collections import deque

from gateway.waiters import park, wake_all, wake_first


async def test_wake_first_skips_cancelled_waiters_in_a_deque_and_a_list() -> None:
    loop = asyncio.get_running_loop()
    for make in (deque, list):
        gone, first, second = (loop.create_future() for _ in range(3))
        gone.cancel()
        waiters = make([gone, first, second])
        assert wake_first(waiters) is True
        assert first.done() and not second.done()
        assert list(waiters) == [second]
        second.cancel()
        assert wake_first(waiters) is False
        assert len(waiters) == 0


async def test_wake_all_wakes_every_live_waiter_and_empties() -> None:
    loop = asyncio.get_running_loop()
    live, gone = loop.create_future(), loop.create_future()
    gone.cancel()
    waiters = deque([gone, live])
    wake_all(waiters)
    assert live.result() is None
    assert not waiters


async def test_park_waits_in_line_and_a_cancelled_woken_waiter_passes_its_wake_up_on() -> None:
    waiters: deque[asyncio.Future[None]] = deque()
    first = asyncio.create_task(park(waiters))
    second = asyncio.create_task(park(waiters))
    await asyncio.sleep(0)
    assert len(waiters) == 2
    wake_first(waiters)  # wakes the first...
    first.cancel()  # ...which is cancelled before it runs: the second must get the wake-up
    await asyncio.sleep(0)
    await second
    assert first.cancelled()
    assert not waiters
