"""Per-identity flood control on the toolkit's RateLimiter, with one polite reply per burst."""

from __future__ import annotations

import math
from collections.abc import Hashable

from django.conf import settings

from gateway.pacing import RateLimiter, Window


class FloodControl:
    """At most ``limit`` lines per ``seconds`` per identity (commands and messages alike).

    The first refused line of a burst gets a reply saying how long to wait; the ones after it,
    until the wait is over, get none (answering every one would be a flood of our own).
    """

    _default: FloodControl | None = None

    def __init__(self, limit: float, seconds: float) -> None:
        self.window = Window(limit=limit, seconds=seconds)
        self.limiter = RateLimiter(per_key=[self.window])
        self._told_until: dict[Hashable, float] = {}

    @classmethod
    def default(cls) -> FloodControl:
        """The process-wide limit from BOT_FLOOD_LIMIT per BOT_FLOOD_SECONDS."""
        if cls._default is None:
            cls._default = cls(float(settings.BOT_FLOOD_LIMIT), float(settings.BOT_FLOOD_SECONDS))
        return cls._default

    def check(self, key: Hashable, now: float) -> str | None:
        """None: go ahead (counted). Else the reply to send ("" for none: already told)."""
        delay = self.limiter.acquire(key, now)
        if delay <= 0:
            self._told_until.pop(key, None)
            return None
        if self._told_until.get(key, -math.inf) > now:
            return ""
        self._told_until[key] = now + delay
        return (
            f"Easy, please: at most {self.window.limit:g} messages per "
            f"{self.window.seconds:g} s. Try again in {math.ceil(delay)} s."
        )
