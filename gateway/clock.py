"""One clock for every timer of the gateway, so tests can move time instead of sleeping.

Code that needs the time or a timer takes a :class:`Clock` (``clock: Clock | None = None``,
None meaning :class:`LoopClock`) and never calls ``loop.time()``, ``loop.call_at()`` or
``asyncio.sleep(delay)`` itself. In production the clock is the running event loop's
(:class:`LoopClock`: monotonic seconds). In tests it is a :class:`FakeClock` that stands still
until the test moves it::

    clock = FakeClock()
    runtime = ApplicationRuntime(app, "test", idle_timeout=30, clock=clock)
    ...
    clock.advance(30)        # runs the idle timer now: no test waits 30 seconds
    await clock.settle()     # lets the tasks it woke run

:func:`wait_until` waits for futures with a deadline on a clock (``asyncio.wait(timeout=...)``
reads the loop's time, which a fake clock does not move).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol


class TimerHandleLike(Protocol):
    """What :meth:`Clock.call_at` returns: ``asyncio.TimerHandle`` or a fake clock's timer."""

    def cancel(self) -> None:
        """Do not run the callback (no effect once it has run)."""

    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""


class Clock(Protocol):
    """Monotonic time and timers; see the module docstring."""

    def time(self) -> float:
        """Monotonic seconds (an arbitrary origin: only differences mean something)."""

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandleLike:
        """Call ``callback()`` once ``time()`` has reached ``when``; ``.cancel()`` the result."""

    async def sleep_until(self, when: float) -> None:
        """Return once ``time()`` has reached ``when`` (at once if it already has)."""

    async def sleep(self, delay: float) -> None:
        """Return after ``delay`` seconds of this clock."""


class LoopClock:
    """The running event loop's clock: ``loop.time()`` and ``loop.call_at()``.

    Args:
        loop: the loop to use; None: the loop running at each call (so one instance may be
            shared by code that runs in several loops one after another, as tests do).
    """

    __slots__ = ("_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def __repr__(self) -> str:
        return "<LoopClock>" if self._loop is None else f"<LoopClock of {self._loop!r}>"

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    def time(self) -> float:
        """The loop's monotonic time."""
        return self._get_loop().time()

    def call_at(self, when: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        """``loop.call_at(when, callback)``."""
        return self._get_loop().call_at(when, callback)

    async def sleep_until(self, when: float) -> None:
        """Sleep until the loop's time reaches ``when``."""
        await asyncio.sleep(max(0.0, when - self._get_loop().time()))

    async def sleep(self, delay: float) -> None:
        """``asyncio.sleep(delay)``."""
        await asyncio.sleep(max(0.0, delay))


class FakeTimer:
    """A timer of a :class:`FakeClock`."""

    __slots__ = ("_callback", "_cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self._callback: Callable[[], object] | None = callback
        self._cancelled = False

    def __repr__(self) -> str:
        state = " cancelled" if self._cancelled else ""
        return f"<FakeTimer when={self.when}{state}>"

    def cancel(self) -> None:
        """Do not run the callback."""
        self._cancelled = True
        self._callback = None

    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancelled

    def _fire(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None and not self._cancelled:
            callback()


class FakeClock:
    """A clock for tests: time moves only when the test calls :meth:`advance` or :meth:`set`.

    Moving it runs every due callback, in time order (ties in the order they were scheduled),
    synchronously, with :meth:`time` reading each callback's own due time while it runs.
    Sleepers (:meth:`sleep`, :meth:`sleep_until`) are woken the same way; ``await settle()``
    then lets the woken tasks run.

    Args:
        start: the initial time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._timers: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()

    def __repr__(self) -> str:
        return f"<FakeClock t={self._now} timers={self.pending_timers}>"

    def time(self) -> float:
        """The fake time."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> FakeTimer:
        """Schedule ``callback()`` for when the fake time reaches ``when``."""
        timer = FakeTimer(when, callback)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[], object]) -> FakeTimer:
        """Schedule ``callback()`` ``delay`` seconds from now."""
        return self.call_at(self._now + delay, callback)

    async def sleep_until(self, when: float) -> None:
        """Wait until the test moves the time to ``when`` or past it."""
        if when <= self._now:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_at(when, lambda: _wake(woken))
        try:
            await woken
        finally:
            timer.cancel()

    async def sleep(self, delay: float) -> None:
        """Wait until the test has moved the time ``delay`` seconds on."""
        await self.sleep_until(self._now + delay)

    @property
    def pending_timers(self) -> int:
        """Timers scheduled and neither run nor cancelled."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled())

    def next_timer(self) -> float | None:
        """When the next timer is due, or None when none is scheduled."""
        timers = self._timers
        while timers and timers[0][2].cancelled():
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def advance(self, seconds: float) -> None:
        """Move the time ``seconds`` on, running every timer that falls due on the way.

        Raises:
            ValueError: ``seconds`` is negative (a monotonic clock never goes back).
        """
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back: advance({seconds})")
        self.set(self._now + seconds)

    def set(self, when: float) -> None:
        """Move the time to ``when``, running every timer due by then, in time order.

        A callback that raises stops the move at its due time and the exception propagates
        to the test (the loop would only have logged it).

        Raises:
            ValueError: ``when`` is earlier than the current time.
        """
        if when < self._now:
            raise ValueError(f"a monotonic clock cannot go back from {self._now} to {when}")
        timers = self._timers
        while timers and timers[0][0] <= when:
            due, _, timer = heapq.heappop(timers)
            self._now = max(self._now, due)
            timer._fire()
        self._now = when

    async def settle(self, rounds: int = 20) -> None:
        """Let tasks that are ready run: ``rounds`` passes of the event loop, no time passes."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def run_until(self, when: float) -> None:
        """Move the time to ``when`` timer by timer, settling after each one.

        Use it when the tasks a timer wakes schedule further timers that must also run before
        ``when`` (a retry loop, a backoff): :meth:`set` alone would run only those already
        scheduled.
        """
        await self.settle()
        while True:
            due = self.next_timer()
            if due is None or due > when:
                break
            self.set(max(due, self._now))
            await self.settle()
        self.set(max(when, self._now))
        await self.settle()


async def wait_until(clock: Clock, futures: Iterable[asyncio.Future[Any]], when: float) -> set[Any]:
    """Wait until every future is done or ``clock`` reaches ``when``, whichever comes first.

    The clock's version of ``asyncio.wait(futures, timeout=...)``: the futures are not
    cancelled.

    Returns:
        The futures still pending (empty when all finished in time).
    """
    pending = {future for future in futures if not future.done()}
    if not pending:
        return pending
    woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    remaining = len(pending)

    def one_done(_: asyncio.Future[Any]) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0 and not woken.done():
            woken.set_result(None)

    for future in pending:
        future.add_done_callback(one_done)
    timer = clock.call_at(when, lambda: _wake(woken))
    try:
        await woken
    finally:
        timer.cancel()
        for future in pending:
            future.remove_done_callback(one_done)
    return {future for future in pending if not future.done()}


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def resolve(clock: Clock | None) -> Clock:
    """The clock to use for a ``clock=None`` argument: the running loop's."""
    return clock if clock is not None else LoopClock()


def time_source(
    clock: Clock | Callable[[], float] | None,
    default: Callable[[], float] = time.monotonic,
) -> Callable[[], float]:
    """The "current time" function of ``clock``: its ``time`` method, itself if it is a
    function, or ``default`` (the monotonic clock) for None.

    For code that only reads the time (expiry stamps) and may run outside any event loop, or in
    several loops one after another (``async_to_sync``), where a loop's clock is not the one.
    """
    if clock is None:
        return default
    reader = getattr(clock, "time", None)
    if callable(reader):
        return reader  # type: ignore[no-any-return]
    return clock  # type: ignore[return-value]
