"""Outages of a Redis host: the shared reconnect backoff, one WARNING per outage."""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis.exceptions import (
    ClusterDownError,
    ClusterError,
    MasterDownError,
    RedisClusterException,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.backoff import Backoff

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
    # "TTL exhausted": redis-py followed redirects (ASK/MOVED/TRYAGAIN) as often as it will
    # while a slot migrates; the migration ends, so this is retried like an outage.
    ClusterError,
)


class Outage(Backoff):
    """Tracks whether one host is down, shared by every caller that talks to it.

    A :class:`~gateway.backoff.Backoff` (capped exponential delays with jitter, one WARNING
    when the outage starts, one INFO when it ends) with the layer's short delays: commands
    wait on it, so the first retries come quickly.

    Args:
        label: the host, without password, for log lines.
        initial: first backoff delay in seconds; doubles per failure up to ``cap``.
        cap: longest delay between two attempts.
    """

    def __init__(self, label: str, initial: float = 0.05, cap: float = 2.0) -> None:
        super().__init__(f"redis {label}", logger=logger, initial=initial, maximum=cap)
        self.label = label
        #: Called (no arguments) each time an outage ends, e.g. to restore group memberships.
        self.on_recovered: list[Callable[[], None]] = []
        self._gave_up = False

    @property
    def cap(self) -> float:
        """Longest delay between two attempts."""
        return self.maximum

    @property
    def down(self) -> bool:
        """True between the first failure and the next success."""
        return self.in_outage

    def succeeded(self) -> None:
        """Record a success; when an outage ends, log it once and call ``on_recovered``."""
        ended = self.in_outage
        super().succeeded()
        if ended:
            self._gave_up = False
            for callback in self.on_recovered:
                callback()

    def gave_up(self, bound: float) -> None:
        """A call stopped waiting after ``bound`` seconds: log that once per outage."""
        if not self._gave_up:
            self._gave_up = True
            logger.error(
                "redis %s unreachable for longer than %g s: send and group calls now fail with "
                "ChannelLayerUnavailable until it answers (connections stay open; consumers "
                "are told through channel_layer_unavailable)",
                self.label,
                bound,
            )
