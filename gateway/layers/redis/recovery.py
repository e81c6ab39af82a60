"""The end of an outage: the calls that waited for Redis are not refused for capacity.

While Redis is away, every send and group_send of the process waits (see ``_call`` in core.py).
When Redis answers, they all reach it within a few milliseconds, before any reader of the
receiving processes has reconnected and popped what the first ones delivered, so a channel of
capacity 100 with 300 waiting messages for it would refuse 200 of them: messages lost to an outage
that was otherwise survived. So a call that waited through an outage is checked against the
channel's capacity *plus the number of calls that waited on that host* (since the last moment
none waited): the burst is bounded by the calls that waited (each is one message a task already
holds in memory), and capacity applies again to every call that did not wait.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar

#: True inside ``_call`` while it retries a call that waited through an outage (per task).
WAITED: ContextVar[bool] = ContextVar("redis_layer_waited", default=False)


class OutageBacklog:
    """Counts the calls waiting through an outage, per host, for the burst allowance."""

    def __init__(self, hosts: int) -> None:
        self._waiting = [0] * hosts
        # Calls that waited since the last moment none did: the burst they make together.
        self._burst = [0] * hosts
        # Several event loops (threads running async_to_sync) may share one layer.
        self._lock = threading.Lock()

    def started_waiting(self, shard: int) -> None:
        """A call failed to reach ``shard`` and will retry."""
        with self._lock:
            if not self._waiting[shard]:
                self._burst[shard] = 0
            self._waiting[shard] += 1
            self._burst[shard] += 1

    def done_waiting(self, shard: int) -> None:
        """A call that waited returned or gave up."""
        with self._lock:
            self._waiting[shard] -= 1

    def waiting(self, shard: int) -> int:
        """Calls waiting through an outage of ``shard`` right now."""
        return self._waiting[shard]

    def capacity(self, shard: int, capacity: int) -> int:
        """The capacity a call checks: ``capacity``, plus the backlog when the calling task
        waited through an outage (see :data:`WAITED`)."""
        return capacity + self._burst[shard] if WAITED.get() else capacity
