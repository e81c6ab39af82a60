"""Group memberships survive Redis data loss: each process re-adds what its channels joined.

Groups live only in Redis. When Redis restarts empty (no persistence, Heroku's mini plans), fails
over to a replica that missed the last writes, or restarts from an AOF that lost its last second,
every room is silently dead: nobody calls ``group_add`` again. So the layer remembers, per process,
the memberships ``group_add`` made and ``group_discard`` did not undo (:class:`GroupMemberships`),
and one keeper task per process (:class:`MembershipKeeper`) puts them back:

- when a host's run id changes (a restart or a failover: a new server process), or the process's
  marker key (``P:m:{<process>!}``, written with each restore, living ``group_expiry``) is gone
  (the data was lost, e.g. FLUSHALL or a restart without persistence);
- every ``group_expiry / 3`` seconds, so a membership this process still holds never expires.

The keeper checks every ``check_interval`` seconds and at once when a host answers again after
an outage (:meth:`MembershipKeeper.nudge`, called by :class:`~.faults.Outage`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from gateway.clock import Clock, LoopClock
from gateway.layers.redis.faults import CONNECTION_ERRORS

if TYPE_CHECKING:
    from gateway.layers.redis.core import RedisChannelLayer

logger = logging.getLogger("gateway.layers.redis.membership")


class GroupMemberships:
    """The memberships this process made with ``group_add`` and has not discarded."""

    def __init__(self) -> None:
        # group -> channels (a dict keeps join order: restores re-add in the same order)
        self._groups: dict[str, dict[str, None]] = {}

    def added(self, group: str, channel: str) -> None:
        """Remember that ``channel`` joined ``group``."""
        self._groups.setdefault(group, {})[channel] = None

    def discarded(self, group: str, channel: str) -> None:
        """Forget ``channel``'s membership of ``group`` (nothing if it had none)."""
        channels = self._groups.get(group)
        if channels is not None:
            channels.pop(channel, None)
            if not channels:
                del self._groups[group]

    def clear(self) -> None:
        """Forget every membership (the layer was flushed)."""
        self._groups.clear()

    def contains(self, group: str, channel: str) -> bool:
        """True while ``channel`` is remembered as a member of ``group``."""
        return channel in self._groups.get(group, ())

    def snapshot(self) -> dict[str, list[str]]:
        """A copy: group -> member channels."""
        return {group: list(channels) for group, channels in self._groups.items()}

    def __len__(self) -> int:
        return sum(len(channels) for channels in self._groups.values())


class MembershipKeeper:
    """Restores and refreshes this process's memberships in Redis (one task, in one event loop).

    Args:
        layer: the layer whose memberships and hosts it keeps.
        check_interval: seconds between two checks of each host's run id and marker key.
        clock: times the checks and refreshes; None: the running loop's (tests pass a FakeClock).
    """

    def __init__(
        self, layer: RedisChannelLayer, check_interval: float, clock: Clock | None = None
    ) -> None:
        self.layer = layer
        self.check_interval = check_interval
        self.clock: Clock = clock or LoopClock()
        self.refresh_every = max(1.0, layer.group_expiry / 3)
        self.marker = f"{layer.prefix}:m:{{{layer.client_prefix}!}}"
        #: Per shard: the run id seen at the last restore or check (None: not known yet).
        self.run_ids: list[str | None] = [None] * layer.ring.size
        self.refreshed_at: list[float | None] = [None] * layer.ring.size
        #: Restores done because Redis had lost the memberships (tests and metrics read it).
        self.restores = 0
        self._task: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        # (loop, shard) -> the check in flight there: the callers that waited through an
        # outage share one check instead of each asking Redis.
        self._checks: dict[tuple[asyncio.AbstractEventLoop, int], asyncio.Task[bool]] = {}

    def ensure_running(self) -> None:
        """Start the keeper in the running loop unless it already runs in a live loop."""
        task, loop = self._task, self.loop
        if task is not None and not task.done() and loop is not None and not loop.is_closed():
            return
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = self.loop.create_task(self._run(), name="redis-layer-membership-keeper")

    def nudge(self) -> None:
        """Check now (a host answers again); safe from any event loop or thread."""
        loop, wake = self.loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    def cancel(self) -> None:
        """Cancel the task without waiting (its loop is closing; it ends with the loop's run)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        """Stop the task (the layer's loop is closing)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            for shard in range(self.layer.ring.size):
                await self.check(shard)
            if not len(self.layer.memberships):
                # Nothing to keep: the next group_add starts a new keeper.
                self._task = None
                return
            self._wake.clear()
            timer = self.clock.call_at(self.clock.time() + self.check_interval, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    async def check(self, shard: int) -> bool:
        """Check one host; restore its memberships if it lost them. True when restored.

        Retries while the host is unreachable (the outage is logged once by the layer).
        """
        outage = self.layer.outages[shard]
        while True:
            try:
                return await self._check_once(shard)
            except CONNECTION_ERRORS as exc:
                await outage.wait(exc)

    async def checked(self, shard: int) -> bool:
        """Check ``shard`` once (restoring what it lost); one check at a time per loop.

        Raises:
            redis ConnectionError (one of CONNECTION_ERRORS): the host is still unreachable.
        """
        key = (asyncio.get_running_loop(), shard)
        task = self._checks.get(key)
        if task is None or task.done():
            task = self._checks[key] = asyncio.get_running_loop().create_task(
                self._check_once(shard)
            )
            task.add_done_callback(lambda done: self._forget_check(key, done))
        return await asyncio.shield(task)

    def _forget_check(
        self, key: tuple[asyncio.AbstractEventLoop, int], task: asyncio.Task[bool]
    ) -> None:
        if self._checks.get(key) is task:
            del self._checks[key]
        if not task.cancelled():
            task.exception()  # retrieved: the callers that awaited it got it

    async def _check_once(self, shard: int) -> bool:
        if not len(self.layer.memberships):
            return False  # nothing to keep (e.g. after flush): write nothing
        client = self.layer.state_for_current_loop().clients[shard]
        run_id, marker = await _run_id(client), await client.exists(self.marker)
        known = self.run_ids[shard]
        refreshed_at = self.refreshed_at[shard]
        lost = (known is not None and run_id != known) or (not marker and refreshed_at is not None)
        due = refreshed_at is None or self.clock.time() - refreshed_at >= self.refresh_every
        if not (lost or due):
            return False
        started = time.monotonic()  # for the log line: real time, whatever the clock
        count, groups = await self._restore(client, shard)
        self.run_ids[shard] = run_id
        if lost:
            self.restores += 1
            logger.warning(
                "redis %s lost this process's group memberships (%s): restored %d memberships "
                "of %d groups in %.3f s",
                self.layer.outages[shard].label,
                "new run id: restarted or failed over" if run_id != known else "data lost",
                count,
                groups,
                time.monotonic() - started,
            )
        else:
            logger.debug("refreshed %d group memberships on shard %d", count, shard)
        return lost

    async def _restore(self, client: Any, shard: int) -> tuple[int, int]:
        layer = self.layer
        snapshot = {
            group: channels
            for group, channels in layer.memberships.snapshot().items()
            if layer.ring.shard(group) == shard
        }
        now = time.time()
        expiry = max(1, int(layer.group_expiry))
        pipe = client.pipeline(transaction=False)
        for group, channels in snapshot.items():
            key = layer.group_key(group)
            pipe.zadd(key, dict.fromkeys(channels, now))
            pipe.expire(key, expiry)
        pipe.set(self.marker, b"1", ex=expiry)
        await pipe.execute()
        self.refreshed_at[shard] = self.clock.time()
        # A group_discard that ran while the pipeline was on its way is undone by the re-add:
        # remove those again.
        stale = [
            (group, channel)
            for group, channels in snapshot.items()
            for channel in channels
            if not layer.memberships.contains(group, channel)
        ]
        for group, channel in stale:
            await client.zrem(layer.group_key(group), channel)
        return sum(len(channels) for channels in snapshot.values()), len(snapshot)


async def _run_id(client: Any) -> str | None:
    """The server's run id (new with every server process), or None when not reported."""
    info = await client.info("server")
    if isinstance(info, dict):
        value = info.get("run_id")
        return None if value is None else str(value)
    return None
