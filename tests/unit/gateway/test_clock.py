"""LoopClock and FakeClock: time, timers in order, sleepers, wait_until with a deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.clock import Clock, FakeClock, LoopClock, resolve, time_source, wait_until


def test_fake_clock_runs_due_timers_in_time_order_and_reads_their_due_time() -> None:
    clock = FakeClock(start=10.0)
    seen: list[tuple[str, float]] = []
    clock.call_at(13.0, lambda: seen.append(("c", clock.time())))
    clock.call_at(11.0, lambda: seen.append(("a", clock.time())))
    clock.call_at(12.0, lambda: seen.append(("b1", clock.time())))
    clock.call_at(12.0, lambda: seen.append(("b2", clock.time())))
    clock.advance(2.5)
    assert seen == [("a", 11.0), ("b1", 12.0), ("b2", 12.0)]
    assert clock.time() == 12.5
    clock.set(20.0)
    assert seen[-1] == ("c", 13.0)
    assert clock.pending_timers == 0 and clock.next_timer() is None


def test_a_cancelled_fake_timer_never_runs() -> None:
    clock = FakeClock()
    seen: list[int] = []
    timer = clock.call_at(1.0, lambda: seen.append(1))
    assert clock.next_timer() == 1.0
    timer.cancel()
    assert timer.cancelled()
    clock.advance(5)
    assert seen == []


def test_a_timer_scheduled_by_a_callback_runs_in_the_same_move_when_due() -> None:
    clock = FakeClock()
    seen: list[float] = []

    def first() -> None:
        seen.append(clock.time())
        clock.call_at(clock.time() + 1, lambda: seen.append(clock.time()))

    clock.call_at(1.0, first)
    clock.advance(3)
    assert seen == [1.0, 2.0]


def test_the_fake_clock_refuses_to_go_back() -> None:
    clock = FakeClock(start=5.0)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(4.0)


async def test_fake_sleepers_wake_when_the_test_moves_time() -> None:
    clock = FakeClock()
    woke: list[str] = []

    async def sleeper(name: str, delay: float) -> None:
        await clock.sleep(delay)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("late", 5)), asyncio.create_task(sleeper("early", 1))]
    await clock.settle()
    assert woke == []
    clock.advance(1)
    await clock.settle()
    assert woke == ["early"]
    clock.advance(4)
    await asyncio.gather(*tasks)
    assert woke == ["early", "late"]


async def test_a_cancelled_fake_sleeper_leaves_no_timer() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep_until(3.0))
    await clock.settle()
    assert clock.pending_timers == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.pending_timers == 0


async def test_run_until_follows_timers_that_woken_tasks_schedule() -> None:
    clock = FakeClock()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            await clock.sleep(1)
            ticks.append(clock.time())

    task = asyncio.create_task(ticker())
    await clock.run_until(3.5)
    task.cancel()
    assert ticks == [1.0, 2.0, 3.0]
    assert clock.time() == 3.5


async def test_wait_until_returns_when_all_are_done_or_at_the_deadline() -> None:
    clock = FakeClock()
    loop = asyncio.get_running_loop()
    first: asyncio.Future[None] = loop.create_future()
    second: asyncio.Future[None] = loop.create_future()
    waiting = asyncio.create_task(wait_until(clock, [first, second], 10.0))
    first.set_result(None)
    await clock.settle()
    assert not waiting.done()
    clock.advance(10)
    assert await waiting == {second}
    assert not second.cancelled()

    both = asyncio.create_task(wait_until(clock, [second], 100.0))
    await clock.settle()
    second.set_result(None)
    assert await both == set()
    assert clock.pending_timers == 0


async def test_loop_clock_is_the_running_loops_time_and_timers() -> None:
    clock: Clock = resolve(None)
    assert isinstance(clock, LoopClock)
    loop = asyncio.get_running_loop()
    before = loop.time()
    now = clock.time()
    assert before <= now <= loop.time()
    fired = asyncio.Event()
    handle = clock.call_at(clock.time(), fired.set)
    await fired.wait()
    assert not handle.cancelled()
    await clock.sleep_until(clock.time())  # already due: returns at once
    await clock.sleep(0)
    bound = LoopClock(loop)
    assert await wait_until(bound, [], bound.time() + 1) == set()


def test_loop_clock_outside_a_loop_says_so() -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        LoopClock().time()


def test_time_source_takes_a_clock_a_function_or_nothing() -> None:
    fake = FakeClock(start=7.0)
    assert time_source(fake)() == 7.0
    assert time_source(lambda: 3.0)() == 3.0
    assert time_source(None) is time.monotonic
