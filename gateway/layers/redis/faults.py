"""Outages of a Redis host: the shared reconnect backoff, one WARNING per outage."""

from __future__ import annotations

import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.backoff import Backoff

logger = logging.getLogger("gateway.layers.redis")

#: What a lost or refused connection raises: retry these, never anything else.
CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


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

    @property
    def cap(self) -> float:
        """Longest delay between two attempts."""
        return self.maximum

    @property
    def down(self) -> bool:
        """True between the first failure and the next success."""
        return self.in_outage
