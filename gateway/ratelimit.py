"""A pure sliding-window rate limiter: overall and per key, with pauses; time is an argument.

Peers limit what we may send: Telegram allows about 30 messages a second overall, one a second
per chat and 20 a minute per group; a 1200-baud half-duplex radio channel holds about 120
bytes a second. :class:`RateLimiter` is the rule, with no I/O and no clock of its own::

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

:class:`gateway.pacing.PacedSender` drives it for outbound queues.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.exceptions import ConfigurationError, LocalProtocolError

__all__ = ["STATE_VERSION", "RateLimiter", "Window"]

#: The format version of :meth:`RateLimiter.state`.
STATE_VERSION = 1


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

    def forget(self, key: Hashable) -> None:
        """Drop what was recorded for ``key`` (its connection is gone); overall windows keep it."""
        self._keys.pop(key, None)
        self._paused.pop(key, None)

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
