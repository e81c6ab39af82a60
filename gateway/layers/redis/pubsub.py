"""RedisPubSubChannelLayer: the Channels layer API over Redis Pub/Sub (channels_redis' 2nd layer).

Settings, as channels_redis users write them::

    CHANNEL_LAYERS = {"default": {
        "BACKEND": "gateway.layers.redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]},
    }}

Theory of operation. Redis stores nothing here: ``send`` and ``group_send`` are one ``PUBLISH``
each, on the Redis channel named like the layer channel (a group ``g`` is published on
``<prefix>__group__g``). A process receives a channel by subscribing to it: ``new_channel()``
subscribes before it returns, ``receive()`` of a channel this process never subscribed to
subscribes first, and ``group_add`` subscribes the process once per group and remembers which
of its channels are members. One subscriber connection per Redis host and event loop carries
every subscription; its reader task puts each published payload into an in-process buffer per
member channel (:class:`~gateway.layers.buffers.ChannelBuffers`, with this layer's ``expiry``
and ``capacity``), where ``receive()`` decodes its own copy. So there are no Lua scripts,
``BLPOP`` or keys: the layer works on managed Redis services that forbid them.

What Pub/Sub implies (as in channels_redis): delivery is at most once. A message published
while nobody subscribes to its channel, or while a process is reconnecting, is lost; there is
no capacity check across processes (``send`` never raises ChannelFull; a process's buffer
that is full drops the message, logged at INFO and counted). Subscribing waits for Redis'
confirmation, so a message sent after ``new_channel()`` or ``group_add()`` returned reaches
the channel (channels_redis does not wait, and its tests sleep instead).

Reconnects. A lost subscriber connection is retried with :class:`~gateway.backoff.Backoff`
(one WARNING per outage, one INFO when it ends); on reconnection every subscription is made
again. ``CONFIG on_disconnect`` / ``on_reconnect`` name message types that every channel of
the process then receives (``{"type": "redis.disconnect"}``), so a consumer can re-sync state
it may have missed, as channels_redis documents. Publishing retries with backoff for
``reconnect_timeout`` seconds, then raises ChannelLayerUnavailable.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from redis.exceptions import ResponseError

from gateway.backoff import Backoff
from gateway.exceptions import (
    ChannelFull,
    ChannelLayerUnavailable,
    InvalidState,
    RemoteProtocolError,
)
from gateway.layers.base import BaseChannelLayer, CapacityPattern
from gateway.layers.buffers import ChannelBuffers
from gateway.layers.inmemory import message_copier
from gateway.layers.redis.codec import MessageCodec
from gateway.layers.redis.faults import CONNECTION_ERRORS
from gateway.layers.redis.hosts import HostSpec, parse_hosts
from gateway.layers.redis.loops import release_on_close
from gateway.layers.redis.multiplex import Multiplexer
from gateway.layers.redis.ring import HashRing
from gateway.metrics import incrementer, layer_messages

logger = logging.getLogger(__name__)


class RedisPubSubChannelLayer(BaseChannelLayer):
    """A channel layer over Redis Pub/Sub (extensions: groups, flush).

    Args:
        hosts: Redis servers (URLs, (host, port) pairs, dicts, Sentinel dicts, as for
            :class:`~gateway.layers.redis.RedisChannelLayer`); a channel or group lives on one
            of them, by consistent hashing of its name. Default ``[("localhost", 6379)]``.
        prefix: starts every name ``new_channel()`` makes and every group's Redis channel.
        on_disconnect: a message type every channel of this process receives when its
            subscriber connection to a host is lost (messages may be missed from then on).
        on_reconnect: a message type every channel receives once subscriptions are back.
        symmetric_encryption_keys: encrypt payloads; the first key encrypts, any decrypts.
        serializer_format: a format of :mod:`gateway.layers.redis.serializers`' registry
            ("msgpack", default, or "json", or a registered one).
        expiry: seconds a message waits in this process's buffer before it is dropped.
        capacity: messages a channel's buffer holds; more are dropped (logged at INFO).
        channel_capacity: ``{glob or regex: capacity}`` per channel name.
        group_expiry: accepted for settings shared with RedisChannelLayer; unused here (a
            membership lasts until group_discard or the end of the process).
        random_prefix_length: accepted for settings shared with RedisChannelLayer and
            ignored, as channels_redis' Pub/Sub layer ignores it: a published payload is never
            stored in a set, so it needs no random prefix.
        ssl_cert_reqs: for rediss:// hosts: "required" (default), "optional" or "none".
        reconnect_timeout: seconds send, group_send and subscribing keep retrying an
            unreachable Redis before they raise ChannelLayerUnavailable.
    """

    extensions: ClassVar[list[str]] = ["groups", "flush"]

    def __init__(
        self,
        hosts: Sequence[Any] | None = None,
        prefix: str = "asgi",
        on_disconnect: str | None = None,
        on_reconnect: str | None = None,
        symmetric_encryption_keys: Iterable[str | bytes] | None = None,
        serializer_format: str = "msgpack",
        expiry: float = 60,
        capacity: int = 100,
        channel_capacity: Mapping[CapacityPattern, int] | None = None,
        group_expiry: float = 86400,
        ssl_cert_reqs: str | None = None,
        reconnect_timeout: float = 30.0,
        random_prefix_length: int = 0,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.hosts = parse_hosts(hosts, ssl_cert_reqs)
        self.ring = HashRing(len(self.hosts))
        self.prefix = prefix
        self.on_disconnect = on_disconnect
        self.on_reconnect = on_reconnect
        self.group_expiry = group_expiry
        self.reconnect_timeout = reconnect_timeout
        self.codec = MessageCodec(serializer_format, symmetric_encryption_keys)
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PubSubLoopState] = (
            weakref.WeakKeyDictionary()
        )
        # The last loop's state: most processes use one loop, and receive() asks every time.
        self._last: tuple[asyncio.AbstractEventLoop, PubSubLoopState] | None = None
        self._sent = layer_messages("redis-pubsub", "send")
        self._received = incrementer(layer_messages("redis-pubsub", "receive"))
        self._group_sent = layer_messages("redis-pubsub", "group_send")

    def group_channel(self, group: str) -> str:
        """The Redis channel a group's messages are published on."""
        return f"{self.prefix}__group__{group}"

    def serialize(self, message: dict[str, Any]) -> bytes:
        """Encode a message as it is published (channels_redis' method)."""
        return self.codec.dumps(message)

    def deserialize(self, data: bytes) -> dict[str, Any]:
        """Decode a published payload (channels_redis' method)."""
        return self.codec.loads(data)

    # The Channels API.

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Publish ``message`` to whoever subscribes to ``channel`` now (at most once).

        Raises:
            InvalidChannelName, InvalidMessage: refused before anything reaches Redis.
            ChannelLayerUnavailable: Redis stayed unreachable for ``reconnect_timeout``.
        """
        self.require_valid_message(message)
        self.require_valid_channel_name(channel)
        payload = self.codec.dumps(message)
        await self._state().shard(channel).publish(channel, payload)
        self._sent.inc()

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on ``channel``, subscribing to it first if needed.

        As in channels_redis, cancelling a receive means the consumer is leaving: the
        process unsubscribes from the channel and drops what its buffer still held.

        Raises:
            InvalidChannelName: a bad name.
            ChannelLayerUnavailable: subscribing failed for ``reconnect_timeout``.
        """
        self.require_valid_channel_name(channel)
        state = self._state()
        if channel not in state.channels:
            await state.subscribe_channel(channel)
        buffers = state.local
        while True:
            found, data = buffers.get_nowait(channel)
            if not found:
                try:
                    data = await buffers.get(channel)
                except asyncio.CancelledError:
                    state.forget_channel(channel)
                    raise
            if type(data) is dict:
                self._received(1)
                return data  # a group message decoded once, this receiver's own copy
            try:
                message = self.codec.loads(data)
            except RemoteProtocolError as exc:
                logger.warning("dropped an unreadable message on %r: %s", channel, exc)
                continue
            self._received(1)
            return message

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new channel name, subscribed in this process before it is returned.

        Names look like channels_redis': ``<layer prefix><prefix><32 hex digits>``.
        """
        name = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.require_valid_channel_name(name)
        await self._state().subscribe_channel(name)
        return name

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` (one this process receives) to ``group``.

        Raises:
            InvalidState: ``channel`` is not received in this process and event loop.
        """
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        state = self._state()
        if channel not in state.channels:
            raise InvalidState(
                f"group_add({group!r}, {channel!r}): with the Pub/Sub layer only channels of "
                "this process can join groups; call it with self.channel_name from the "
                "consumer that owns the channel"
            )
        await state.join(self.group_channel(group), channel)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; nothing happens if it was not a member."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        self._state().leave(self.group_channel(group), channel)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Publish ``message`` to every process with members in ``group`` (one PUBLISH).

        Raises:
            ChannelLayerUnavailable: Redis stayed unreachable for ``reconnect_timeout``.
        """
        self.require_valid_message(message)
        self.require_valid_group_name(group)
        payload = self.codec.dumps(message)
        name = self.group_channel(group)
        await self._state().shard(name).publish(name, payload)
        self._group_sent.inc()

    async def flush(self) -> None:
        """Forget every channel, group and buffered message of this event loop and close its
        connections, as channels_redis does; the layer reconnects on its next call."""
        await self.close()

    async def close(self) -> None:
        """Close this event loop's connections and drop its subscriptions."""
        state = self.forget_loop(asyncio.get_running_loop())
        if state is not None:
            await state.aclose()

    async def close_pools(self) -> None:
        """Same as :meth:`close` (the name channels_redis' core layer uses in teardown)."""
        await self.close()

    def forget_loop(self, loop: asyncio.AbstractEventLoop) -> PubSubLoopState | None:
        """Detach and return the state of ``loop`` (called when that loop closes)."""
        self._last = None
        return self._states.pop(loop, None)

    def _state(self) -> PubSubLoopState:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = PubSubLoopState(self)
            release_on_close(loop, self)
        self._last = (loop, state)
        return state


def _same(data: Any) -> Any:
    return data


class PubSubLoopState:
    """One event loop's view of the layer: shards, local buffers, channels and groups."""

    def __init__(self, layer: RedisPubSubChannelLayer) -> None:
        self.layer = layer
        self.shards = [Shard(spec, self) for spec in layer.hosts]
        self.local = ChannelBuffers(clock=time.monotonic)
        #: Channels this loop receives (subscribed on their shard).
        self.channels: set[str] = set()
        #: Group's Redis channel -> the member channels of this loop.
        self.groups: dict[str, set[str]] = {}

    def shard(self, name: str) -> Shard:
        """The shard a channel or group channel lives on."""
        return self.shards[self.layer.ring.shard(name)]

    async def subscribe_channel(self, channel: str) -> None:
        """Receive ``channel`` in this loop from now on."""
        self.channels.add(channel)
        self.local.pin(channel)
        try:
            await self.shard(channel).subscribe(channel)
        except BaseException:
            self.channels.discard(channel)
            self.local.discard(channel)
            raise

    def forget_channel(self, channel: str) -> None:
        """Stop receiving ``channel``: unsubscribe, leave its groups, drop its buffer."""
        if channel not in self.channels:
            return
        self.channels.discard(channel)
        self.shard(channel).unsubscribe(channel)
        for name in [name for name, members in self.groups.items() if channel in members]:
            self.leave(name, channel)
        n = self.local.discard(channel)
        if n:
            logger.debug("receive on %r cancelled: %d buffered message(s) dropped", channel, n)

    async def join(self, group_channel: str, channel: str) -> None:
        """Make ``channel`` a member of the group published on ``group_channel``."""
        members = self.groups.setdefault(group_channel, set())
        members.add(channel)
        await self.shard(group_channel).subscribe(group_channel)

    def leave(self, group_channel: str, channel: str) -> None:
        """Remove ``channel`` from a group; unsubscribe when no member is left here."""
        members = self.groups.get(group_channel)
        if members is None or channel not in members:
            return
        members.discard(channel)
        if not members:
            del self.groups[group_channel]
            self.shard(group_channel).unsubscribe(group_channel)

    def deliver(self, name: str, data: bytes) -> None:
        """A payload published on ``name`` arrived: buffer it for each local receiver.

        A channel's buffer gets the payload bytes, decoded by its receive. A group's members
        get, when the message holds only immutable scalars, shallow copies of one decoded
        message (cheaper than decoding per member); otherwise the bytes, decoded per member,
        so no receiver shares mutable state with another.
        """
        layer = self.layer
        copy: Callable[[Any], Any] = _same
        if name in self.channels:
            targets: Iterable[str] = (name,)
        else:
            members = self.groups.get(name)
            if not members:
                return  # unsubscribed meanwhile
            targets = list(members)
            if len(members) > 1:
                try:
                    message = layer.codec.loads(data)
                except RemoteProtocolError as exc:
                    logger.warning("dropped an unreadable message on %r: %s", name, exc)
                    return
                if message_copier(message) is dict:
                    data, copy = message, dict  # type: ignore[assignment]
        now = time.monotonic()
        expires_at = now + layer.expiry
        put = self.local.put
        # Without per-channel patterns every channel has the default capacity: no lookup each.
        capacity = None if layer.channel_capacity else layer.capacity
        full = 0
        for channel in targets:
            try:
                put(channel, copy(data), expires_at, capacity or layer.get_capacity(channel), now)
            except ChannelFull:
                full += 1
        if full:
            logger.info(
                "message on %r not buffered for %d channel(s) over capacity (consumers too slow)",
                name,
                full,
            )

    def notify(self, message_type: str | None) -> None:
        """Put ``{"type": message_type}`` in every local channel (connection lost/back)."""
        if message_type is None:
            return
        data = self.layer.codec.dumps({"type": message_type})
        expires_at = time.monotonic() + self.layer.expiry
        for channel in list(self.channels):
            try:
                self.local.put(channel, data, expires_at, self.layer.get_capacity(channel))
            except ChannelFull:
                logger.info("%r not buffered for %r: channel over capacity", message_type, channel)

    async def aclose(self) -> None:
        """Close every shard's connections; forget channels, groups and buffers."""
        await asyncio.gather(*(shard.aclose() for shard in self.shards))
        self.channels.clear()
        self.groups.clear()
        self.local.clear()


class Shard:
    """One Redis host in one event loop: a publishing connection and a subscriber connection.

    Subscriptions are tracked by name: ``wanted`` (what this loop should be subscribed to),
    ``_unconfirmed`` (SUBSCRIBE commands sent and not yet confirmed, per name) and
    ``_confirmed``. A subscribe call returns when Redis confirmed its SUBSCRIBE.
    """

    def __init__(self, spec: HostSpec, state: PubSubLoopState) -> None:
        self.label = spec.label
        self.state = state
        self.layer = state.layer
        pool = spec.make_pool()
        self._pool = pool
        self._publisher = Multiplexer(pool)
        self._subscriber = Multiplexer(pool, direct=True)
        self.wanted: set[str] = set()
        self._confirmed: set[str] = set()
        self._unconfirmed: dict[str, int] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.connected = False
        self._lost = False
        self._stopped = False
        self._reader: asyncio.Task[None] | None = None
        self.subscriber_backoff = Backoff(f"redis {spec.label} (pub/sub subscriber)", logger=logger)
        self.publisher_backoff = Backoff(f"redis {spec.label} (pub/sub publisher)", logger=logger)

    async def publish(self, name: str, payload: bytes) -> None:
        """PUBLISH, retrying with backoff while Redis is unreachable (up to reconnect_timeout).

        Raises:
            ChannelLayerUnavailable: still unreachable after ``reconnect_timeout`` seconds.
        """
        deadline: float | None = None
        backoff = self.publisher_backoff
        while True:
            try:
                await self._publisher.execute("PUBLISH", name, payload)
            except CONNECTION_ERRORS as exc:
                now = time.monotonic()
                deadline = deadline or now + self.layer.reconnect_timeout
                if now >= deadline:
                    raise ChannelLayerUnavailable(
                        f"redis {self.label} unreachable for {self.layer.reconnect_timeout:g} s "
                        f"({exc}): check that it runs and that CONFIG hosts points at it"
                    ) from exc
                await backoff.wait(exc)
                continue
            backoff.succeeded()
            return

    async def subscribe(self, name: str) -> None:
        """Subscribe to ``name``; return once Redis confirmed it.

        Raises:
            ChannelLayerUnavailable: no confirmation within ``reconnect_timeout`` (Redis is
                down); the subscription is still made when Redis answers again.
        """
        if name in self._confirmed:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(name, []).append(waiter)
        if name not in self.wanted:
            self.wanted.add(name)
            if self.connected:
                self._send("SUBSCRIBE", [name])
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.layer.reconnect_timeout)
        except TimeoutError:
            raise ChannelLayerUnavailable(
                f"redis {self.label} did not confirm the subscription to {name!r} within "
                f"{self.layer.reconnect_timeout:g} s: check that it runs and that CONFIG hosts "
                "points at it"
            ) from None
        finally:
            waiters = self._waiters.get(name)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)

    def unsubscribe(self, name: str) -> None:
        """Unsubscribe from ``name`` (no wait: nothing more is delivered for it locally)."""
        if name not in self.wanted:
            return
        self.wanted.discard(name)
        self._confirmed.discard(name)
        if self.connected:
            self._send("UNSUBSCRIBE", [name])

    def _send(self, command: str, names: list[str]) -> None:
        if command == "SUBSCRIBE":
            for name in names:
                self._unconfirmed[name] = self._unconfirmed.get(name, 0) + 1
        self._subscriber.write((command, *names))

    async def _read(self) -> None:
        subscriber = self._subscriber
        while not self._stopped:
            try:
                if not self.connected:
                    await subscriber.connect()
                    # No await from here to the write: subscribe() sees either "not
                    # connected" (its name is in `wanted`, sent now) or its own SUBSCRIBE sent.
                    self.connected = True
                    self._unconfirmed.clear()
                    if self.wanted:
                        self._send("SUBSCRIBE", sorted(self.wanted))
                    if self._lost:
                        self._lost = False
                        self.subscriber_backoff.succeeded()
                        self.state.notify(self.layer.on_reconnect)
                (reply,) = await subscriber.read(1)
            except CONNECTION_ERRORS as exc:
                if self._stopped:
                    return
                self._connection_lost()
                await subscriber.close()
                await self.subscriber_backoff.wait(exc)
                continue
            self._handle(reply)

    def _connection_lost(self) -> None:
        self.connected = False
        self._confirmed.clear()
        self._unconfirmed.clear()
        if not self._lost:
            self._lost = True
            self.state.notify(self.layer.on_disconnect)

    def _handle(self, reply: Any) -> None:
        if isinstance(reply, ResponseError):
            logger.error("redis %s refused a pub/sub command: %s", self.label, reply)
            return
        if not isinstance(reply, list) or len(reply) < 3:
            logger.warning("unexpected pub/sub reply from redis %s: %.80r", self.label, reply)
            return
        kind = reply[0]
        if kind == b"message":
            self.state.deliver(reply[1].decode(), reply[2])
        elif kind == b"subscribe":
            self._confirm(reply[1].decode())

    def _confirm(self, name: str) -> None:
        left = self._unconfirmed.get(name, 0) - 1
        if left > 0:
            # An older SUBSCRIBE of a name unsubscribed and subscribed again meanwhile.
            self._unconfirmed[name] = left
            return
        self._unconfirmed.pop(name, None)
        if name not in self.wanted:
            return
        self._confirmed.add(name)
        for waiter in self._waiters.pop(name, []):
            if not waiter.done():
                waiter.set_result(None)

    async def aclose(self) -> None:
        """Stop the reader and close both connections."""
        self._stopped = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._subscriber.close()
        await self._publisher.close()
        await self._pool.disconnect()
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.cancel()
        self._waiters.clear()
