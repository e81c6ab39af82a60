"""Outbound pacing: per-key queues that obey a :class:`~gateway.ratelimit.RateLimiter`.

:class:`PacedSender` is the asyncio driver: ``put(key, item)`` queues and returns a future at
once (a consumer's ``send()`` never waits for the peer); one scheduler task starts each
key's next item when the limiter allows it, one transmission at a time per key (order kept),
keys concurrently and in turn (a key waiting for its window never delays another key). A
:class:`~gateway.exceptions.RetryAfter` from ``transmit`` pauses the key or everything and
sends the same item again; other errors are retried with a backoff up to ``max_attempts``.
Nothing is dropped silently: every item's future resolves, with the final error if it failed.

The limiter itself (``Window``, ``RateLimiter``: pure sliding windows, state save/restore)
lives in :mod:`gateway.ratelimit` and is importable from here too.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from prometheus_client import Gauge

from gateway.backoff import Backoff
from gateway.clock import Clock, resolve, wait_until
from gateway.exceptions import (
    ConfigurationError,
    InvalidState,
    LocalProtocolError,
    OutboxClosed,
    RetryAfter,
)
from gateway.ratelimit import RateLimiter, Window

logger = logging.getLogger(__name__)

__all__ = ["PacedSender", "RateLimiter", "RetryAfter", "Window"]

OUTBOUND_QUEUED = Gauge(
    "gateway_outbound_queued",
    "Outbound items queued by a paced sender and not yet sent (including those being sent).",
    ["name"],
)


def _queued_of(ref: weakref.ref[PacedSender]) -> float:
    sender = ref()
    return float(sender.queued()) if sender is not None else 0.0


class _Job:
    __slots__ = ("attempts", "cost", "future", "item")

    def __init__(self, item: Any, cost: float, future: asyncio.Future[None]) -> None:
        self.item = item
        self.cost = cost
        self.future = future
        self.attempts = 0


class _Lane:
    """One key's queue: idle, ready (in turn), parked (waiting for its time) or busy (sending)."""

    __slots__ = ("busy", "jobs", "key", "not_before", "parked")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.jobs: deque[_Job] = deque()
        self.busy = False
        self.parked = False
        self.not_before = -math.inf


class PacedSender:
    """Per-key outbound queues over a :class:`RateLimiter` (see the module docstring).

    Args:
        limiter: the limits (it may be restored from a saved state first).
        transmit: ``await transmit(key, item)`` sends one item to the peer. Raise
            :class:`~gateway.exceptions.RetryAfter` when the peer asks to wait; any other
            exception is a failed attempt.
        name: for log lines and the metric ``gateway_outbound_queued{name}``.
        clock: None: the running loop's.
        max_attempts: failed attempts before an item's future gets the error.
        backoff: makes the :class:`~gateway.backoff.Backoff` that spaces retries after
            failures (one for the sender: one WARNING per outage of the peer); default:
            0.5 s doubling to 30 s.
        give_up_on: exception types that fail an item at once (the peer refused it for
            good, e.g. a chat that blocked the bot).

    Raises:
        ConfigurationError: ``max_attempts`` is less than 1.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        transmit: Callable[[Hashable, Any], Awaitable[None]],
        *,
        name: str,
        clock: Clock | None = None,
        max_attempts: int = 5,
        backoff: Callable[[], Backoff] | None = None,
        give_up_on: tuple[type[BaseException], ...] = (),
    ) -> None:
        if max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, got {max_attempts}")
        self.limiter = limiter
        self.name = name
        self.max_attempts = max_attempts
        self._transmit = transmit
        self._clock = resolve(clock)
        self._give_up_on = give_up_on
        self._backoff = (
            backoff()
            if backoff is not None
            else Backoff(f"{name}: the peer", logger=logger, clock=self._clock)
        )
        self._lanes: dict[Hashable, _Lane] = {}
        self._ready: deque[_Lane] = deque()
        self._parked: list[tuple[float, int, _Lane]] = []
        self._order = itertools.count()
        self._queued = 0
        self._wakeup: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._closed = False
        ref = weakref.ref(self)
        OUTBOUND_QUEUED.labels(name=name).set_function(lambda: _queued_of(ref))

    def __repr__(self) -> str:
        return f"<PacedSender {self.name} queued={self._queued} keys={len(self._lanes)}>"

    def queued(self, key: Hashable | None = None) -> int:
        """Items not yet sent (including any being sent), for ``key`` or for all keys."""
        if key is None:
            return self._queued
        lane = self._lanes.get(key)
        return len(lane.jobs) if lane is not None else 0

    def start(self) -> None:
        """Start the scheduler task (:meth:`put` starts it too). Call inside the running loop."""
        if self._runner is None and not self._closed:
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name=f"paced sender {self.name}"
            )

    def put(self, key: Hashable, item: Any, cost: float = 1.0) -> asyncio.Future[None]:
        """Queue ``item`` for ``key``; never blocks, never drops.

        Returns:
            A future that resolves once the item was transmitted, or holds the final error
            (logged with its key) after ``max_attempts``, or :class:`OutboxClosed` if the
            sender closed first. Nobody has to await it.

        Raises:
            InvalidState: the sender is closed.
            LocalProtocolError: ``cost`` can never fit the limiter's windows.
        """
        if self._closed:
            raise InvalidState(f"{self!r} is closed: queue nothing after aclose()")
        self.limiter.check(key, cost)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(key)
        lane.jobs.append(_Job(item, cost, future))
        self._queued += 1
        if len(lane.jobs) == 1 and not lane.busy and not lane.parked:
            self._ready.append(lane)
            self._wake()
        if self._runner is None:
            self.start()
        return future

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        clock = self._clock
        parked = self._parked
        ready = self._ready
        while True:
            now = clock.time()
            while parked and parked[0][0] <= now:
                lane = heapq.heappop(parked)[2]
                lane.parked = False
                ready.append(lane)
            for _ in range(len(ready)):
                lane = ready.popleft()
                job = lane.jobs[0]
                try:
                    when = max(lane.not_before, self.limiter.ready_at(lane.key, now, job.cost))
                except LocalProtocolError as exc:
                    # The limits changed under a queued item so that it can never fit.
                    logger.error("%s: dropping an item for key %r: %s", self.name, lane.key, exc)
                    self._finish(lane, exc)
                    if lane.jobs:
                        ready.append(lane)
                    elif self._lanes.get(lane.key) is lane:
                        del self._lanes[lane.key]
                    continue
                if when > now:
                    # Only this key waits: the others keep their turn.
                    lane.parked = True
                    heapq.heappush(parked, (when, next(self._order), lane))
                    continue
                self.limiter.record(lane.key, now, job.cost)
                lane.busy = True
                task = loop.create_task(self._send(lane, job))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
            if ready:  # a lane put back above: its next item gets its turn at once
                await asyncio.sleep(0)
                continue
            self._wakeup = loop.create_future()
            timer = clock.call_at(parked[0][0], self._wake) if parked else None
            try:
                await self._wakeup
            finally:
                self._wakeup = None
                if timer is not None:
                    timer.cancel()

    async def _send(self, lane: _Lane, job: _Job) -> None:
        key = lane.key
        try:
            await self._transmit(key, job.item)
        except RetryAfter as exc:
            until = self._clock.time() + exc.seconds
            self.limiter.pause(key if exc.key_only else None, until)
            logger.warning(
                "%s: the peer asked to wait %.1fs (%s): pausing %s, then sending the same item",
                self.name,
                exc.seconds,
                exc,
                f"key {key!r}" if exc.key_only else "every key",
            )
        except Exception as exc:
            job.attempts += 1
            if isinstance(exc, self._give_up_on) or job.attempts >= self.max_attempts:
                logger.error(
                    "%s: giving up on an item for key %r after %d attempt(s): %s",
                    self.name,
                    key,
                    job.attempts,
                    exc,
                )
                self._finish(lane, exc)
            else:
                lane.not_before = self._clock.time() + self._backoff.failed(exc)
                logger.debug("%s: sending for key %r failed: %s", self.name, key, exc)
        else:
            if self._backoff.in_outage:
                self._backoff.succeeded()
            self._finish(lane, None)
        lane.busy = False
        if lane.jobs:
            self._ready.append(lane)
            self._wake()
        elif self._lanes.get(key) is lane:
            del self._lanes[key]

    def _finish(self, lane: _Lane, exc: BaseException | None) -> None:
        job = lane.jobs.popleft()
        self._queued -= 1
        if not job.future.done():
            if exc is None:
                job.future.set_result(None)
            else:
                job.future.set_exception(exc)
                job.future.exception()  # logged here: no "never retrieved" report
        if self._queued == 0 and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def aclose(self, drain_timeout: float) -> None:
        """Stop accepting items, send what is queued for up to ``drain_timeout`` seconds, stop.

        Items still queued (or being sent) then are logged with their keys, and their futures
        get :class:`~gateway.exceptions.OutboxClosed`.
        """
        self._closed = True
        if self._queued:
            self._drained = asyncio.get_running_loop().create_future()
            await wait_until(self._clock, [self._drained], self._clock.time() + drain_timeout)
        tasks = [*self._sending, *([self._runner] if self._runner is not None else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._runner = None
        left = {key: len(lane.jobs) for key, lane in self._lanes.items() if lane.jobs}
        if left:
            logger.warning(
                "%s: closed with %d item(s) not sent after %.1fs, by key: %s",
                self.name,
                sum(left.values()),
                drain_timeout,
                ", ".join(f"{key!r}: {count}" for key, count in left.items()),
            )
            closed = OutboxClosed(
                f"{self.name} closed before this item was sent (it may have been in transmission)"
            )
            for lane in self._lanes.values():
                while lane.jobs:
                    self._finish(lane, closed)
        self._lanes.clear()
        self._ready.clear()
        self._parked.clear()
