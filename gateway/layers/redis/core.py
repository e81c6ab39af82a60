"""RedisChannelLayer: the Channels layer API over Redis, on redis-py's asyncio client.

Settings, as channels_redis users write them::

    CHANNEL_LAYERS = {"default": {
        "BACKEND": "gateway.layers.redis.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]},
    }}

See docs/redis-layer.md for every CONFIG key, the key layout in Redis and the fault behaviour.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import math
import secrets
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from prometheus_client import Counter

from gateway.clock import Clock
from gateway.exceptions import (
    ChannelFull,
    ChannelLayerUnavailable,
    ConfigurationError,
    ForeignChannel,
    InvalidState,
    RemoteProtocolError,
)
from gateway.layers.base import BaseChannelLayer, CapacityPattern
from gateway.layers.redis.cluster import ClusterSpec, parse_cluster_hosts
from gateway.layers.redis.codec import MessageCodec
from gateway.layers.redis.faults import CONNECTION_ERRORS, Outage
from gateway.layers.redis.hosts import HostSpec, parse_hosts
from gateway.layers.redis.loops import LoopState, pack_counts, release_on_close
from gateway.layers.redis.membership import GroupMemberships, MembershipKeeper
from gateway.layers.redis.recovery import WAITED, OutageBacklog
from gateway.layers.redis.ring import HashRing
from gateway.metrics import layer_messages

logger = logging.getLogger("gateway.layers.redis")

T = TypeVar("T")

GROUP_MEMBERS_OVER_CAPACITY = Counter(
    "gateway_layer_group_over_capacity",
    "Group members skipped by group_send because their channel was full.",
    ["backend"],
)


class RedisChannelLayer(BaseChannelLayer):
    """A channel layer shared by every process that uses the same Redis (extensions: groups, flush).

    Args:
        hosts: Redis servers, one shard each (URLs, (host, port) pairs, dicts, Sentinel dicts;
            see :mod:`gateway.layers.redis.hosts`). Default ``[("localhost", 6379)]``.
        prefix: prefix of every key this layer writes.
        expiry: seconds a message waits unread before it is dropped.
        group_expiry: seconds a group membership lasts unless renewed by ``group_add``.
        capacity: messages a channel holds before ``send`` raises ChannelFull.
        channel_capacity: ``{glob or regex: capacity}`` per channel name.
        symmetric_encryption_keys: encrypt messages at rest in Redis; the first key encrypts,
            any key decrypts (rotation).
        serializer_format: "msgpack" (default) or "json". ``serializer`` is accepted as alias.
        random_prefix_length: random bytes put before every stored payload (channels_redis'
            option). Default 0, where channels_redis has 12: it keeps messages in sorted sets,
            whose members must differ; our channel lists need no such prefix. Every process of
            the layer must use the same value.
        ssl_cert_reqs: for rediss:// hosts: "required" (default), "optional" or "none"
            ("none" accepts a self-signed certificate, as Heroku Redis presents).
        reconnect_timeout: seconds send/group calls keep retrying an unreachable Redis before
            they raise ChannelLayerUnavailable. Receivers retry for ever.
        cluster: True when ``hosts`` are seed nodes of a Redis Cluster (see
            :mod:`gateway.layers.redis.cluster`); keys spread over its slots.
        group_check_interval: seconds between two checks that Redis still holds this
            process's group memberships (restored when a restart or failover lost them; see
            :mod:`gateway.layers.redis.membership`).
        clock: times those checks; None: the running loop's (tests pass a FakeClock).
    """

    extensions: ClassVar[list[str]] = ["groups", "flush"]

    def __init__(
        self,
        hosts: Sequence[Any] | None = None,
        prefix: str = "asgi",
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: Mapping[CapacityPattern, int] | None = None,
        symmetric_encryption_keys: Iterable[str | bytes] | None = None,
        serializer_format: str = "msgpack",
        serializer: str | None = None,
        random_prefix_length: int = 0,
        ssl_cert_reqs: str | None = None,
        reconnect_timeout: float = 30.0,
        cluster: bool = False,
        group_check_interval: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.cluster = bool(cluster)
        self.cluster_spec: ClusterSpec | None = None
        if self.cluster:
            if "{" in prefix or "}" in prefix:
                raise ConfigurationError(
                    f"CONFIG prefix {prefix!r} may not contain braces with a Redis Cluster: "
                    "they would change the keys' hash tags"
                )
            # One logical shard: the cluster spreads the keys over its slots itself.
            self.cluster_spec = parse_cluster_hosts(hosts, ssl_cert_reqs)
            self.hosts: list[HostSpec] = []
            self.outages = [Outage(self.cluster_spec.label)]
        else:
            self.hosts = parse_hosts(hosts, ssl_cert_reqs)
            self.outages = [Outage(spec.label) for spec in self.hosts]
        self.ring = HashRing(len(self.outages))
        self.prefix = prefix
        self.group_expiry = group_expiry
        self.reconnect_timeout = reconnect_timeout
        self.codec = MessageCodec(
            serializer or serializer_format, symmetric_encryption_keys, random_prefix_length
        )
        #: Names every process-local channel of this layer instance (this process).
        self.client_prefix = uuid.uuid4().hex[:12]
        self._owner_suffix = f".{self.client_prefix}!"
        self._expiry_s = max(1, math.ceil(expiry))
        self._group_expiry_s = max(1, math.ceil(group_expiry))
        self._channel_prefix = f"{prefix}:c:"
        self._count_prefix = f"{prefix}:n:"
        self._group_prefix = f"{prefix}:g:"
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._sent = layer_messages("redis", "send")
        self._received = layer_messages("redis", "receive")
        self._group_sent = layer_messages("redis", "group_send")
        self._over_capacity = GROUP_MEMBERS_OVER_CAPACITY.labels(backend="redis")
        #: What this process's group_add calls joined, restored when Redis loses it.
        self.memberships = GroupMemberships()
        self.keeper = MembershipKeeper(self, group_check_interval, clock)
        self._backlog = OutageBacklog(self.ring.size)
        for outage in self.outages:
            outage.on_recovered.append(self.keeper.nudge)

    def serialize(self, message: dict[str, Any]) -> bytes:
        """Encode (and encrypt) a message as it is stored (channels_redis' method)."""
        return self.codec.dumps(message)

    def deserialize(self, data: bytes) -> dict[str, Any]:
        """Decode a stored payload (channels_redis' method)."""
        return self.codec.loads(data)

    # Keys.

    def channel_key(self, name: str) -> str:
        """The list key of a normal channel, or of a process (``name`` ending in ``!``)."""
        return f"{self._channel_prefix}{{{name}}}"

    def count_key(self, owner: str) -> str:
        """The hash key counting the unreceived items of each channel of process ``owner``."""
        return f"{self._count_prefix}{{{owner}}}"

    def group_key(self, group: str) -> str:
        """The sorted-set key of a group."""
        return f"{self._group_prefix}{{{group}}}"

    # The Channels API.

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send a message to a channel.

        Raises:
            InvalidChannelName, InvalidMessage: refused before anything reaches Redis.
            ChannelFull: the channel holds its capacity of unreceived messages.
            ChannelLayerUnavailable: Redis stayed unreachable for ``reconnect_timeout``.
        """
        self.require_valid_message(message)
        self.require_valid_channel_name(channel)
        payload = self.codec.dumps(message)
        state = self._state()
        target = self.non_local_name(channel)
        shard = self.ring.shard(target)
        if self.cluster:
            # Only counts of the target's own process share its slot; the key routes the call.
            owner = target if target.endswith("!") else ""
            counts = state.take_unreceived(owner) if owner else {}
            keys = [self.count_key(owner) if counts else self.channel_key(target)]
        else:
            owner, counts = state.take_unreceived_for(shard)
            keys = [self.count_key(owner)] if counts else []
        capacity = self.get_capacity(channel)
        args = [*self._push_args(payload), pack_counts(counts), channel]
        script, mux = state.push[shard], state.mux[shard]
        backlog = self._backlog
        try:
            full = await self._call(
                shard,
                lambda: mux.evalsha(script, keys, [*args, backlog.capacity(shard, capacity)]),
            )
        except ChannelLayerUnavailable:
            if counts:
                state.requeue_unreceived(owner, counts)
            raise
        if full:
            raise ChannelFull(
                f"channel {channel!r} is full ({self.get_capacity(channel)} messages waiting): "
                "the message was not sent; retry later, or raise CONFIG capacity/channel_capacity"
            )
        self._sent.inc()

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on ``channel``.

        Process-local channels (``new_channel()`` names) must be received in the process that
        created them, from one event loop at a time. Cancelling a receive loses and reorders
        nothing. While Redis is unreachable, the call keeps waiting (the reader retries).

        Raises:
            InvalidChannelName: a bad name; ForeignChannel (one, and an AssertionError as in
                channels_redis) for another process's channel.
            InvalidState: another event loop already receives this process's channels.
        """
        self.require_valid_channel_name(channel)
        bang = channel.find("!")
        if bang >= 0 and not channel.endswith(self._owner_suffix, 0, bang + 1):
            # Reading another process's list would steal the messages of its channels.
            raise ForeignChannel(
                f"cannot receive on {channel!r}: it was not made by this layer's "
                "new_channel() (process-local channels are received where they were created)"
            )
        state = self._state()
        while True:
            if bang >= 0:
                owner = channel[: bang + 1]
                if owner not in state.readers:
                    self._check_one_receiving_loop(owner, state)
                # Always: the reader then keeps reading ahead while this process receives.
                state.ensure_reader(owner, None)
                found, item = state.local.get_nowait(channel)
                if not found:
                    item = await state.local.get(channel)
                state.mark_received(channel)
            else:
                found, item = state.normal.get_nowait(channel)
                if not found:
                    state.ensure_reader(None, channel)
                    item = await state.normal.get(channel)
            try:
                message = self.codec.loads(item[0][item[1] :])
            except RemoteProtocolError as exc:
                logger.warning("dropped an unreadable message on %r: %s", channel, exc)
                continue
            self._received.inc()
            return message

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new process-local channel name, e.g. ``specific.<process>!<random>``."""
        name = f"{prefix.rstrip('.')}.{self.client_prefix}!{secrets.token_hex(8)}"
        self.require_valid_channel_name(name)
        return name

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``, or renew its membership for another group_expiry."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        state = self._state()
        shard = self.ring.shard(group)
        key = self.group_key(group)
        mux = state.mux[shard]

        async def add() -> None:
            # Pipelined on the shared connection: one round trip.
            await asyncio.gather(
                mux.execute("ZADD", key, time.time(), channel),
                mux.execute("EXPIRE", key, self._group_expiry_s),
            )

        await self._call(shard, add)
        self.memberships.added(group, channel)
        self.keeper.ensure_running()

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; nothing happens if it was not a member."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        state = self._state()
        shard = self.ring.shard(group)
        mux = state.mux[shard]
        # Forgotten first: a restore running meanwhile must not add it back.
        self.memberships.discarded(group, channel)
        await self._call(shard, lambda: mux.execute("ZREM", self.group_key(group), channel))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel of ``group``.

        One round trip when there is one Redis host and no channel_capacity patterns; two
        otherwise (members, then one push per host, in parallel), whatever the group size.
        Members at capacity are skipped, logged at INFO and counted
        (``gateway_layer_group_over_capacity_total``); expired members are dropped.
        """
        self.require_valid_message(message)
        self.require_valid_group_name(group)
        payload = self.codec.dumps(message)
        state = self._state()
        now = time.time()
        head = self._push_args(payload, now)
        cutoff = now - self.group_expiry
        key = self.group_key(group)
        if self.ring.size == 1 and not self.channel_capacity and not self.cluster:
            script, mux = state.group_send[0], state.mux[0]
            args = [*head, cutoff]
            backlog = self._backlog
            members, full = await self._call(
                0, lambda: mux.evalsha(script, [key], [*args, backlog.capacity(0, self.capacity)])
            )
        else:
            members, full = await self._group_send_sharded(state, group, head, cutoff)
        self._group_sent.inc()
        if full:
            self._over_capacity.inc(full)
            # INFO, as channels_redis: a slow consumer is normal operation, and the counter
            # above is what to alert on.
            # channels_redis' exact text: log alerts written for it keep matching.
            logger.info("%s of %s channels over capacity in group %s", full, members, group)

    async def _group_send_sharded(
        self, state: LoopState, group: str, head: list[Any], cutoff: float
    ) -> tuple[int, int]:
        # Members first, then one push per host; on a cluster one push per receiving list
        # (a process's channels share one), each in its list's slot.
        shard = self.ring.shard(group)
        script, mux = state.group_members[shard], state.mux[shard]
        key = self.group_key(group)
        names = await self._call(shard, lambda: mux.evalsha(script, [key], [cutoff]))
        batches: dict[str, list[Any]] = {}
        for raw in names:
            name = raw.decode()
            target = self.non_local_name(name)
            batch = "" if not self.cluster else target
            batches.setdefault(f"{self.ring.shard(target)}/{batch}", []).extend(
                [name, self.get_capacity(name)]
            )

        def push(batch: str, pairs: list[Any]) -> Callable[[], Awaitable[int]]:
            shard_text, _, tag = batch.partition("/")
            target = int(shard_text)
            keys = [self.channel_key(tag)] if tag else []
            backlog = self._backlog

            def call() -> Awaitable[int]:
                # Capacities read when the call is made: a retried call may hold a burst.
                with_capacity = [
                    value if i % 2 == 0 else backlog.capacity(target, value)
                    for i, value in enumerate(pairs)
                ]
                pushed: Awaitable[int] = state.mux[target].evalsha(
                    state.push[target], keys, [*head, "", *with_capacity]
                )
                return pushed

            return call

        fulls = await asyncio.gather(
            *(
                self._call(int(batch.partition("/")[0]), push(batch, pairs))
                for batch, pairs in batches.items()
            )
        )
        return len(names), sum(fulls)

    async def flush(self) -> None:
        """Delete every key under this layer's prefix, on every host, and the local buffers."""
        state = self._state()
        # Nothing to restore any more: the memberships go with the keys.
        self.memberships.clear()
        pattern = glob.escape(self.prefix).replace("?", "\\?") + ":*"
        for shard, client in enumerate(state.clients):

            async def delete_all(client: Any = client) -> None:
                batch: list[Any] = []
                async for key in client.scan_iter(match=pattern, count=1000):
                    batch.append(key)
                    if len(batch) >= 500:
                        await client.unlink(*batch)
                        batch = []
                if batch:
                    await client.unlink(*batch)

            await self._call(shard, delete_all)
        state.local.clear()
        state.normal.clear()
        state.unreceived.clear()

    async def wait_received(self) -> None:
        """Return once this event loop's receives have settled in Redis (channels_redis' name).

        channels_redis waits here for the tasks that tidy up after receives; ours writes the
        pending counts of received process-local messages, so that a capacity check from
        another process sees the room those receives made.
        """
        state = self._states.get(asyncio.get_running_loop())
        if state is not None:
            await state.flush_received()

    async def close_pools(self) -> None:
        """Close this event loop's connections (channels_redis' name, used in test teardown).

        Same as :meth:`close`: readers stop, messages read ahead go back to Redis, and the
        layer reconnects on its next call.
        """
        await self.close()

    async def close(self) -> None:
        """Stop this loop's readers and close its connections. The layer stays usable."""
        loop = asyncio.get_running_loop()
        if self.keeper.loop is loop:
            await self.keeper.stop()
        state = self._states.pop(loop, None)
        if state is not None:
            await state.aclose()

    # Internals.

    def _check_one_receiving_loop(self, owner: str, state: LoopState) -> None:
        # Two loops reading one process list would take each other's messages.
        for other in list(self._states.values()):
            if other is not state and owner in other.readers:
                raise InvalidState(
                    "process-local channels of this layer are already being received in "
                    "another event loop: receive them from one loop at a time (as "
                    "channels_redis requires), or use a layer instance per loop"
                )

    def forget_loop(self, loop: asyncio.AbstractEventLoop) -> LoopState | None:
        """Detach and return the state of ``loop`` (called when that loop closes)."""
        if self.keeper.loop is loop:
            self.keeper.cancel()
        return self._states.pop(loop, None)

    def state_for_current_loop(self) -> LoopState:
        """The running event loop's connections, scripts, buffers and readers."""
        return self._state()

    def _state(self) -> LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = LoopState(self)
            release_on_close(loop, self)
        return state

    def _push_args(self, payload: bytes, now: float | None = None) -> list[Any]:
        now_ms = int((time.time() if now is None else now) * 1000)
        return [
            self._channel_prefix,
            self._count_prefix,
            payload,
            now_ms,
            now_ms + int(self.expiry * 1000),
            self._expiry_s,
        ]

    async def _call(self, shard: int, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` against ``shard``, retrying with backoff while Redis is unreachable."""
        outage = self.outages[shard]
        try:
            if outage.down and len(self.memberships):
                # Redis may have come back empty: restore before a group_send reaches it.
                await self.keeper.checked(shard)
            result = await call()
        except CONNECTION_ERRORS as exc:
            return await self._call_after_outage(shard, call, exc)
        if outage.down:
            outage.succeeded()
        return result

    async def _call_after_outage(
        self, shard: int, call: Callable[[], Awaitable[T]], exc: BaseException
    ) -> T:
        """Retry ``call`` until Redis answers or ``reconnect_timeout`` passes; before the
        retried call, make sure the host still holds this process's group memberships."""
        outage = self.outages[shard]
        deadline = time.monotonic() + self.reconnect_timeout
        self._backlog.started_waiting(shard)
        waited = WAITED.set(True)
        try:
            while True:
                if time.monotonic() >= deadline:
                    outage.gave_up(self.reconnect_timeout)
                    raise ChannelLayerUnavailable(
                        f"redis {outage.label} unreachable for {self.reconnect_timeout:g} s "
                        f"({exc}): check that it runs and that CONFIG hosts points at it"
                    ) from exc
                await outage.wait(exc)
                try:
                    if len(self.memberships):
                        # A group_send must not reach a group Redis lost before it is back.
                        await self.keeper.checked(shard)
                    result = await call()
                except CONNECTION_ERRORS as again:
                    exc = again
                    continue
                if outage.down:
                    outage.succeeded()
                return result
        finally:
            WAITED.reset(waited)
            self._backlog.done_waiting(shard)
