"""Inbound flood control: how many messages one sender may send, and what happens past that.

The rule is a :class:`~gateway.ratelimit.RateLimiter` (sliding windows per key), the same one that
paces what we send; here the key is the sender (a WebSocket connection, a Telegram chat, a
radio station) and the verdict is about what it sent::

    flood = FloodControl(FloodPolicy(windows=parse_windows("5/2,40/60"), strikes=10))
    verdict = flood.check(connection_id)   # ALLOW, WARN, DROP or CLOSE

- ``ALLOW``: within the rate; handle the message.
- ``WARN``: the first message over the rate: drop it and tell the sender, politely, to slow
  down (once, so a flood does not get a flood of replies).
- ``DROP``: over the rate again: drop it silently and count a strike.
- ``CLOSE``: ``strikes`` messages dropped since the warning: the sender keeps going, end the
  conversation (a WebSocket closes with 1008, "policy violation"); every later message over
  the rate gets CLOSE too (frames already in flight when the connection closes).

A sender that slows down is forgiven: its next message within the rate resets the strikes.
Dropped messages do not count against the rate, so waiting is enough to be heard again.
Memory follows the senders active recently (the limiter forgets idle keys); call
:meth:`FloodControl.forget` when a sender leaves.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from gateway.clock import Clock, resolve
from gateway.exceptions import ConfigurationError
from gateway.ratelimit import RateLimiter, Window

logger = logging.getLogger(__name__)

__all__ = ["FloodControl", "FloodPolicy", "Verdict", "parse_windows"]


class Verdict(enum.Enum):
    """What to do with one inbound message."""

    #: Within the rate: handle it.
    ALLOW = "allow"
    #: First message over the rate: drop it and tell the sender to slow down.
    WARN = "warn"
    #: Over the rate again: drop it without a reply.
    DROP = "drop"
    #: Still flooding after ``strikes`` dropped messages: end the conversation.
    CLOSE = "close"


def parse_windows(text: str, setting: str = "the rate limit") -> tuple[Window, ...]:
    """Parse ``"5/2,40/60"`` (at most 5 messages per 2 s and 40 per 60 s) into windows.

    An empty text means no limit (no windows).

    Raises:
        ConfigurationError: the text is not a comma-separated list of ``COUNT/SECONDS``.
    """
    windows = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        count, slash, seconds = part.partition("/")
        try:
            if not slash:
                raise ValueError(part)
            windows.append(Window(float(count), float(seconds)))
        except (ValueError, ConfigurationError) as exc:
            raise ConfigurationError(
                f"{setting}: {part!r} is not COUNT/SECONDS; write e.g. '5/2,40/60' for at most "
                "5 messages in any 2 seconds and 40 in any minute (empty: no limit)"
            ) from exc
    return tuple(windows)


def describe_windows(windows: Sequence[Window]) -> str:
    """``"5 every 2 s, 40 every 60 s"``, for messages to users and logs."""
    return ", ".join(f"{window.limit:g} every {window.seconds:g} s" for window in windows)


@dataclass(frozen=True)
class FloodPolicy:
    """How fast one sender may send, and how long it may keep going past that.

    Args:
        windows: the rate, as sliding windows (none: no limit).
        strikes: messages dropped after the warning before the verdict is CLOSE.
    """

    windows: tuple[Window, ...]
    strikes: int = 10

    def __post_init__(self) -> None:
        if self.strikes < 1:
            raise ConfigurationError(f"flood strikes must be at least 1, got {self.strikes}")

    @property
    def limited(self) -> bool:
        """True when there is a rate to enforce."""
        return bool(self.windows)


class FloodControl:
    """Verdicts on inbound messages per sender, under one :class:`FloodPolicy`.

    Args:
        policy: the rate and the strikes.
        clock: where "now" comes from (None: the running loop's).
    """

    def __init__(self, policy: FloodPolicy, clock: Clock | None = None) -> None:
        self.policy = policy
        self._clock = resolve(clock)
        self._limiter = RateLimiter(per_key=policy.windows)
        #: Messages dropped since the warning, per sender over the rate.
        self._strikes: dict[Hashable, int] = {}

    def check(self, sender: Hashable) -> Verdict:
        """The verdict on one message from ``sender``, counted now if it is allowed."""
        if not self.policy.limited:
            return Verdict.ALLOW
        if self._limiter.acquire(sender, self._clock.time()) == 0.0:
            if self._strikes:
                self._strikes.pop(sender, None)  # slowed down: forgiven
            return Verdict.ALLOW
        strikes = self._strikes.get(sender)
        if strikes is None:
            self._strikes[sender] = 0
            return Verdict.WARN
        strikes += 1
        self._strikes[sender] = strikes
        # CLOSE again for every later message over the rate, until forget() or a slow-down.
        return Verdict.CLOSE if strikes >= self.policy.strikes else Verdict.DROP

    def forget(self, sender: Hashable) -> None:
        """Drop what is kept about ``sender`` (it left); its rate history expires by itself."""
        self._strikes.pop(sender, None)

    def describe(self) -> str:
        """The rate in words, e.g. ``"5 every 2 s, 40 every 60 s"``."""
        return describe_windows(self.policy.windows)
