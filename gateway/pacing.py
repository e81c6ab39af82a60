"""Outbound pacing: a pure sliding-window rate limiter, and per-key queues that obey it.

Peers limit what we may send: Telegram allows about 30 messages a second overall, one a second
per chat and 20 a minute per group; a 1200-baud half-duplex radio channel holds a few frames a
second. :class:`RateLimiter` is the rule, pure (time is an argument, no I/O)::

    limiter = RateLimiter(
        overall=[Window(30, 1.0)],
        per_key=lambda chat: [Window(1, 1.0)] + ([Window(20, 60.0)] if chat < 0 else []),
        margin=0.1,
    )
    limiter.acquire(chat_id, now)     # 0.0: send now (recorded); else seconds to wait

A window ``Window(limit, seconds)`` holds if, for every instant t, the cost recorded in
``(t - seconds, t]`` is at most ``limit``: a true sliding window, not a fixed bucket, so
bursts across a bucket boundary cannot double the rate. ``margin`` keeps a fraction of each
rate free by stretching each window to ``seconds / (1 - margin)`` (so a limit of 1 still
works), which absorbs the clock differences between us and the peer. ``state()`` /
``restore()`` carry the recent sends and pauses across a restart, so a process that restarts
in a loop cannot exceed the limits either.

:class:`PacedSender` is the asyncio driver: ``put(key, item)`` queues and returns a future at
once (a consumer's ``send()`` never waits for the peer); one scheduler task starts each
key's next item when the limiter allows it, one transmission at a time per key (order kept),
keys concurrently and in turn (a key waiting for its window never delays another key). A
:class:`~gateway.exceptions.RetryAfter` from ``transmit`` pauses the key or everything and
sends the same item again; other errors are retried with a backoff up to ``max_attempts``.
Nothing is dropped silently: every item's future resolves, with the final error if it failed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
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

logger = logging.getLogger(__name__)

__all__ = ["PacedSender", "RateLimiter", "RetryAfter", "Window"]

#: The format version of :meth:`RateLimiter.state`.
STATE_VERSION = 1

OUTBOUND_QUEUED = Gauge(
    "gateway_outbound_queued",
    "Outbound items queued by a paced sender and not yet sent (including those being sent).",
    ["name"],
)


@dataclass(frozen=True)
class Window:
    """At most ``limit`` cost in any sliding period of ``seconds``.

    Raises:
        ConfigurationError: ``limit`` or ``seconds`` is not a positive finite number.
    """

    limit: float
    seconds: float

    def __post_init__(self) -> None:
        for value in (self.limit, self.seconds):
            if not (isinstance(value, int | float) and 0 < value < math.inf):
                raise ConfigurationError(
                    f"a pacing window needs a positive limit and period, got {self!r}"
                )


class _Track:
    """The sends recorded against one window, for one key or overall."""

    __slots__ = ("events", "limit", "span", "used")

    def __init__(self, window: Window, margin: float) -> None:
        self.limit = float(window.limit)
        self.span = window.seconds / (1.0 - margin)
        self.events: deque[tuple[float, float]] = deque()
        self.used = 0.0

    def expire(self, now: float) -> None:
        # An event at t counts while t + span > now: the window (now - span, now].
        events = self.events
        span = self.span
        while events and events[0][0] + span <= now:
            self.used -= events.popleft()[1]
        if not events:
            self.used = 0.0  # no float drift survives an empty window

    def ready_at(self, now: float, cost: float) -> float:
        self.expire(now)
        if self.used + cost <= self.limit:
            return now
        # Wait until enough of the oldest sends leave the window for this one to fit.
        excess = self.used + cost - self.limit
        for sent_at, sent_cost in self.events:
            excess -= sent_cost
            if excess <= 0:
                return sent_at + self.span
        return math.inf  # cost > limit: refused by RateLimiter.check() before we get here

    def add(self, now: float, cost: float) -> None:
        self.events.append((now, cost))
        self.used += cost


class RateLimiter:
    """Sliding-window limits overall and per key, with pauses; pure (no I/O, time passed in).

    Args:
        overall: windows every send counts against, whatever its key.
        per_key: windows each key counts against on its own; or a function of the key that
            returns them (called once per key while it has recent sends).
        margin: the fraction of each rate kept free, in [0, 1): each window's period is
            stretched to ``seconds / (1 - margin)``.

    Raises:
        ConfigurationError: ``margin`` is outside [0, 1).
    """

    def __init__(
        self,
        overall: Sequence[Window] = (),
        per_key: Sequence[Window] | Callable[[Hashable], Sequence[Window]] = (),
        *,
        margin: float = 0.0,
    ) -> None:
        if not 0.0 <= margin < 1.0:
            raise ConfigurationError(f"pacing margin must be in [0, 1), got {margin!r}")
        self.margin = margin
        self.overall = tuple(overall)
        self._per_key = per_key if callable(per_key) else tuple(per_key)
        self._overall = [_Track(window, margin) for window in self.overall]
        self._keys: dict[Hashable, list[_Track]] = {}
        self._paused_all = -math.inf
        self._paused: dict[Hashable, float] = {}
        # Keys with recent sends, by when they may be forgotten; one entry per key at a time.
        self._sweep: deque[tuple[float, Hashable]] = deque()
        self._swept: set[Hashable] = set()

    def __repr__(self) -> str:
        return f"<RateLimiter overall={list(self.overall)} keys={len(self._keys)}>"

    def windows_for(self, key: Hashable) -> tuple[Window, ...]:
        """The per-key windows that apply to ``key``."""
        per_key = self._per_key
        return tuple(per_key(key)) if callable(per_key) else per_key

    def check(self, key: Hashable, cost: float = 1.0) -> None:
        """Refuse a cost that could never be sent.

        Raises:
            LocalProtocolError: ``cost`` is negative, or larger than a window's limit.
        """
        if cost < 0:
            raise LocalProtocolError(f"a send cannot cost less than 0, got {cost!r}")
        for window in (*self.overall, *self.windows_for(key)):
            if cost > window.limit:
                raise LocalProtocolError(
                    f"a send costing {cost:g} can never fit {window!r} (key {key!r}): split it "
                    "or raise the limit"
                )

    def _tracks(self, key: Hashable) -> list[_Track]:
        tracks = self._keys.get(key)
        if tracks is None:
            tracks = self._keys[key] = [
                _Track(window, self.margin) for window in self.windows_for(key)
            ]
        return tracks

    def ready_at(self, key: Hashable, now: float, cost: float = 1.0) -> float:
        """The earliest time, not before ``now``, at which a send of ``cost`` fits every window.

        Raises:
            LocalProtocolError: ``cost`` could never fit (see :meth:`check`).
        """
        self.check(key, cost)
        when = max(now, self._paused_all, self._paused.get(key, -math.inf))
        for track in self._overall:
            when = max(when, track.ready_at(now, cost))
        tracks = self._keys.get(key)
        if tracks is not None:
            for track in tracks:
                when = max(when, track.ready_at(now, cost))
        return when

    def delay(self, key: Hashable, now: float, cost: float = 1.0) -> float:
        """Seconds to wait before a send of ``cost`` for ``key`` fits; 0.0: it may go now."""
        return self.ready_at(key, now, cost) - now

    def record(self, key: Hashable, now: float, cost: float = 1.0) -> None:
        """Count a send made at ``now`` (times must not decrease between calls)."""
        for track in self._overall:
            track.add(now, cost)
        for track in self._tracks(key):
            track.add(now, cost)
        self._schedule_sweep(key, now)

    def acquire(self, key: Hashable, now: float, cost: float = 1.0) -> float:
        """:meth:`delay`, and :meth:`record` the send when the delay is 0.0."""
        wait = self.ready_at(key, now, cost) - now
        if wait <= 0.0:
            self.record(key, now, cost)
            return 0.0
        return wait

    def pause(self, key: Hashable | None, until: float) -> None:
        """Send nothing for ``key`` (None: for any key) before ``until`` (a 429 retry_after)."""
        if key is None:
            self._paused_all = max(self._paused_all, until)
        else:
            self._paused[key] = max(self._paused.get(key, -math.inf), until)
            if key not in self._swept:
                self._swept.add(key)
                self._sweep.append((until, key))

    def _schedule_sweep(self, key: Hashable, now: float, due: float | None = None) -> None:
        # Forget keys whose sends have all left their windows and whose pause is over, so
        # memory follows the keys active recently, not every key ever seen.
        sweep = self._sweep
        while sweep and sweep[0][0] <= now:
            _, old = sweep.popleft()
            if self._idle(old, now):
                self._swept.discard(old)
                self._keys.pop(old, None)
                self._paused.pop(old, None)
            else:
                # Not idle: a send still counts (due > now) or a pause runs (until > now).
                later = max(now + self._horizon(old), self._paused.get(old, -math.inf))
                sweep.append((later, old))
        if key not in self._swept:
            self._swept.add(key)
            sweep.append((now + self._horizon(key) if due is None else due, key))

    def _horizon(self, key: Hashable) -> float:
        tracks = self._keys.get(key, ())
        return max((track.span for track in tracks), default=0.0)

    def _idle(self, key: Hashable, now: float) -> bool:
        if self._paused.get(key, -math.inf) > now:
            return False
        for track in self._keys.get(key, ()):
            track.expire(now)
            if track.events:
                return False
        return True

    @property
    def keys(self) -> int:
        """Keys with recent sends or pauses (the others cost no memory)."""
        return len(self._keys.keys() | self._paused.keys())

    def state(self, now: float) -> dict[str, Any]:
        """The recent sends and pauses, JSON-serialisable, for :meth:`restore` after a restart.

        Keys are stored with ``str(key)``; times as they are, with ``now`` so that
        :meth:`restore` can shift them onto another process's monotonic clock.
        """
        overall = _events_within(self._overall, now)
        keys: dict[str, dict[str, Any]] = {}
        for key, tracks in self._keys.items():
            events = _events_within(tracks, now)
            if events:
                keys.setdefault(str(key), {})["events"] = events
        for key, until in self._paused.items():
            if until > now:
                keys.setdefault(str(key), {})["paused"] = until
        return {
            "version": STATE_VERSION,
            "now": now,
            "overall": overall,
            "paused_all": self._paused_all if self._paused_all > now else None,
            "keys": keys,
        }

    def restore(
        self,
        state: Mapping[str, Any],
        now: float,
        key_from_str: Callable[[str], Hashable] = str,
        *,
        elapsed: float = 0.0,
    ) -> None:
        """Replace the recorded sends and pauses with those of :meth:`state`.

        Args:
            state: what :meth:`state` returned (possibly through JSON).
            now: the current time of this limiter's clock.
            key_from_str: turns a stored key back into the key (``int`` for chat ids).
            elapsed: seconds known to have passed since the state was taken (wall clock);
                0, the default, is the safe choice: the old sends count as recent as they were.

        Raises:
            ConfigurationError: ``state`` is not what :meth:`state` returns; delete the saved
                state to start with empty windows.
        """
        try:
            if state["version"] != STATE_VERSION:
                raise ValueError(f"version {state['version']!r}, expected {STATE_VERSION}")
            shift = now - float(state["now"]) - elapsed
            overall = [(float(t) + shift, float(c)) for t, c in state["overall"]]
            paused_all = state["paused_all"]
            keys = {
                key_from_str(name): (
                    [(float(t) + shift, float(c)) for t, c in entry.get("events", ())],
                    entry.get("paused"),
                )
                for name, entry in state["keys"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigurationError(
                f"pacing state is not what RateLimiter.state() returns ({exc!r}): delete the "
                "saved state to start with empty windows"
            ) from exc
        self._overall = [_Track(window, self.margin) for window in self.overall]
        self._keys.clear()
        self._paused.clear()
        self._sweep.clear()
        self._swept.clear()
        self._paused_all = -math.inf if paused_all is None else float(paused_all) + shift
        for sent_at, cost in overall:
            for track in self._overall:
                track.add(sent_at, cost)
        for key, (events, paused) in keys.items():
            tracks = self._tracks(key)
            for sent_at, cost in events:
                for track in tracks:
                    track.add(sent_at, cost)
            if paused is not None:
                self._paused[key] = float(paused) + shift
            self._schedule_sweep(key, now)


def _events_within(tracks: Sequence[_Track], now: float) -> list[list[float]]:
    # The longest window holds every send that still counts in any of them.
    longest = max(tracks, key=lambda track: track.span, default=None)
    if longest is None:
        return []
    longest.expire(now)
    return [[sent_at, cost] for sent_at, cost in longest.events]


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
        OUTBOUND_QUEUED.labels(name=name).set_function(lambda: float(self._queued))

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
