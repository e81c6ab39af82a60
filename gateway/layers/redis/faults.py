"""Outages of a Redis host: capped exponential backoff and one log line per outage."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    RedisClusterException,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("gateway.layers.redis")

#: What a lost or refused connection raises: retry these, never anything else. With a Redis
#: Cluster also what a failover raises once redis-py's own retries are spent: no node reachable,
#: CLUSTERDOWN, MASTERDOWN, TRYAGAIN (a slot mid-migration).
CONNECTION_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    RedisClusterException,
    ClusterDownError,
    MasterDownError,
    TryAgainError,
)


class Outage:
    """Tracks whether one host is down, shared by every caller that talks to it.

    Args:
        label: the host, without password, for log lines.
        initial: first backoff delay in seconds; doubles per failure up to ``cap``.
        cap: longest delay between two attempts.
    """

    def __init__(self, label: str, initial: float = 0.05, cap: float = 2.0) -> None:
        self.label = label
        self.initial = initial
        self.cap = cap
        self.failures = 0
        self.since: float | None = None
        #: Called (no arguments) each time an outage ends, e.g. to restore group memberships.
        self.on_recovered: list[Callable[[], None]] = []
        self._gave_up = False

    @property
    def down(self) -> bool:
        """True between the first failure and the next success."""
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failure; log the start of an outage once. Return the delay to wait."""
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "redis %s unreachable (%s): retrying with backoff until it answers",
                self.label,
                exc,
            )
        delay: float = min(self.cap, self.initial * 2 ** min(self.failures, 16))
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        """Record a success; log the end of an outage once."""
        if self.since is not None:
            logger.warning(
                "redis %s reachable again after %.1f s", self.label, time.monotonic() - self.since
            )
            self.since = None
            self.failures = 0
            self._gave_up = False
            for callback in self.on_recovered:
                callback()

    def gave_up(self, bound: float) -> None:
        """A call stopped waiting after ``bound`` seconds: log that once per outage."""
        if not self._gave_up:
            self._gave_up = True
            logger.error(
                "redis %s still unreachable after %g s: send and group calls now fail with "
                "ChannelLayerUnavailable until it answers (connections stay open; consumers "
                "are told through channel_layer_unavailable)",
                self.label,
                bound,
            )

    async def wait(self, exc: BaseException) -> None:
        """Record a failure and sleep its backoff delay."""
        await asyncio.sleep(self.failed(exc))
