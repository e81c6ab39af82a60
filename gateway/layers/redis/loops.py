"""Per-event-loop connections of the Redis layer, and the readers that fill in-process buffers.

redis-py connections belong to the event loop that opened them. A layer is shared by the whole
process, but code reaches it from several loops: the server's loop, and a fresh loop per
``async_to_sync`` call from sync code or Celery. So each loop gets a :class:`LoopState` with its
own pools, buffers and readers, and a hook on ``loop.close()`` releases them, so short-lived
loops neither fail with "Event loop is closed" nor leave connections behind.

Readers. One :class:`Reader` per Redis list and loop pops items while receivers wait:

- the list of a process (``<process>!``) is read in batches (BLMPOP ... COUNT n, several pops
  queued in Redis while the process receives) and its items are handed to the right
  process-local channel buffer: thousands of consumers share one blocking connection;
- a normal channel's list is popped one item per waiting receiver.

A receive that is cancelled leaves its item in the buffer for the next receive, and a single
reader per list keeps Redis order: nothing is lost or reordered by cancellation.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import TYPE_CHECKING, Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from gateway.exceptions import RemoteProtocolError
from gateway.layers.buffers import ChannelBuffers
from gateway.layers.redis import scripts
from gateway.layers.redis.cluster import ClusterCommands, ClusterReaderConnection
from gateway.layers.redis.codec import make_item, parse_header
from gateway.layers.redis.faults import CONNECTION_ERRORS
from gateway.layers.redis.multiplex import Multiplexer

if TYPE_CHECKING:
    from gateway.layers.redis.core import RedisChannelLayer

logger = logging.getLogger("gateway.layers.redis")

#: Seconds a blocking pop waits in Redis before the reader checks whether anyone still waits.
BLOCK_SECONDS = 1.0
#: Seconds an idle reader stays around for the next receive before its task ends.
LINGER_SECONDS = 5.0
#: Most items one pop takes from a process's list.
BATCH = 1000
#: Pops kept queued in Redis for a process's list.
PIPELINE = 4


def pack_counts(counts: dict[str, int]) -> str:
    """Received counts as one script argument: ``"<n> <channel>\\n..."`` ("" for none)."""
    return "".join(f"{n} {channel}\n" for channel, n in counts.items())


class LoopState:
    """Everything the layer holds for one event loop: clients, scripts, buffers, readers."""

    def __init__(self, layer: RedisChannelLayer) -> None:
        self.layer = layer
        self.clients: list[Any]
        self.mux: list[Any]
        if layer.cluster_spec is not None:
            # One client for the whole cluster; redis-py routes each command to its slot.
            self.clients = [layer.cluster_spec.make_client()]
            self.mux = [ClusterCommands(self.clients[0], layer.cluster_spec)]
        else:
            self.clients = [Redis(connection_pool=spec.make_pool()) for spec in layer.hosts]
            #: Short commands (sends, groups, counts) are pipelined over one connection per host.
            self.mux = [Multiplexer(client.connection_pool) for client in self.clients]
        self.push = [client.register_script(scripts.PUSH) for client in self.clients]
        self.group_send = [client.register_script(scripts.GROUP_SEND) for client in self.clients]
        self.group_members = [
            client.register_script(scripts.GROUP_MEMBERS) for client in self.clients
        ]
        self.received_script = [client.register_script(scripts.RECEIVED) for client in self.clients]
        #: Messages of process-local channels, popped from their process's list.
        self.local = ChannelBuffers(clock=time.time, on_expired=self.mark_received)
        #: Messages of normal channels popped for a receive that was then cancelled.
        self.normal = ChannelBuffers(clock=time.time)
        self.readers: dict[str, Reader] = {}
        # process name -> {channel: items received (or expired) not yet subtracted in Redis}
        self.unreceived: dict[str, dict[str, int]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._flush_soon = False
        #: Until then (time.monotonic()) the process's list is read even with no receiver.
        self.local_active_until = 0.0

    def ensure_reader(self, owner: str | None, channel: str | None) -> None:
        """Make sure a reader pops the list of ``owner`` (a process) or of ``channel``."""
        if owner is not None:
            self.local_active_until = time.monotonic() + LINGER_SECONDS
        name = owner or channel
        assert name is not None
        reader = self.readers.get(name)
        if reader is None:
            self.readers[name] = Reader(self, owner, channel)
        elif owner is None:
            reader.wake.set()  # only normal-channel readers linger on this event

    def mark_received(self, channel: str, count: int = 1) -> None:
        """Count items of a process-local channel as gone, so its capacity frees up."""
        owner = channel[: channel.find("!") + 1]
        pending = self.unreceived.setdefault(owner, {})
        pending[channel] = pending.get(channel, 0) + count
        self.schedule_flush()

    def schedule_flush(self) -> None:
        """Send the pending received counts soon, in one round trip per process list."""
        if not self._flush_soon:
            # A plain callback first: usually the next send of this loop iteration takes the
            # counts along, and no task is needed at all.
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self._flush_soon = False
        if self.unreceived and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.get_running_loop().create_task(self._flush_unreceived())

    def take_unreceived(self, owner: str) -> dict[str, int]:
        """Remove and return the pending counts of process ``owner`` (channel -> n)."""
        return self.unreceived.pop(owner, None) or {}

    def take_unreceived_for(self, shard: int) -> tuple[str, dict[str, int]]:
        """Remove and return the pending counts of one process whose count hash lives on
        ``shard`` (for a send to carry along), as ``(owner, counts)``; counts may be empty."""
        for owner in self.unreceived:
            if self.layer.ring.shard(owner) == shard:
                return owner, self.take_unreceived(owner)
        return "", {}

    def requeue_unreceived(self, owner: str, counts: dict[str, int]) -> None:
        """Put counts back after a failed attempt to send them."""
        pending = self.unreceived.setdefault(owner, {})
        for channel, count in counts.items():
            pending[channel] = pending.get(channel, 0) + count

    async def _put_back(self) -> None:
        # Items read ahead (or popped for a cancelled receive) go back to the head of their
        # list, in order, so a short-lived loop (async_to_sync) loses nothing by closing.
        layer = self.layer
        by_name: dict[str, list[bytes]] = {}
        for buffers in (self.local, self.normal):
            for channel, entries in buffers.drain().items():
                # Re-addressed to this channel alone: a group item named several.
                by_name.setdefault(layer.non_local_name(channel), []).extend(
                    make_item(
                        parse_header(item)[0], channel if "!" in channel else "", item[start:]
                    )
                    for item, start in entries
                )
        for name, items in by_name.items():
            shard = layer.ring.shard(name)
            await self.clients[shard].lpush(layer.channel_key(name), *reversed(items))
        await self._flush_unreceived()

    async def flush_received(self) -> None:
        """Write the pending received counts now, after any flush already under way."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        await self._flush_unreceived()

    async def _flush_unreceived(self) -> None:
        for owner in list(self.unreceived):
            counts = self.take_unreceived(owner)
            if not counts:
                continue
            shard = self.layer.ring.shard(owner)
            try:
                await self.mux[shard].evalsha(
                    self.received_script[shard],
                    [self.layer.count_key(owner)],
                    [pack_counts(counts)],
                )
            except CONNECTION_ERRORS:
                # Sent again with the next pop or receive once Redis answers.
                self.requeue_unreceived(owner, counts)
                return

    async def aclose(self) -> None:
        """Stop the readers, put back what nobody received, close every connection."""
        tasks = [reader.stop() for reader in self.readers.values()]
        if self._flusher is not None:
            self._flusher.cancel()
            tasks.append(self._flusher)
        # Closing the sockets also ends a blocking pop that ignored the cancellation, so no
        # reader can pop what is put back below.
        for client in self.clients:
            await _disconnect(client)
        for mux in self.mux:
            await mux.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.readers.clear()
        try:
            await asyncio.wait_for(self._put_back(), 2)
        except (TimeoutError, *CONNECTION_ERRORS) as exc:
            logger.warning("could not return unreceived messages to redis on close: %s", exc)
        for mux in self.mux:
            await mux.close()
        for client in self.clients:
            await client.aclose()
            await _disconnect(client)


class Reader:
    """Pops one Redis list into in-process buffers while receivers wait on it."""

    def __init__(self, state: LoopState, owner: str | None, channel: str | None) -> None:
        self.state = state
        self.owner = owner
        self.channel = channel
        layer = state.layer
        self.name = owner or channel or ""
        self.key = layer.channel_key(self.name)
        self.shard = layer.ring.shard(self.name)
        self.outage = layer.outages[self.shard]
        self.connection: Any
        if layer.cluster:
            commands = state.mux[self.shard]
            self.connection = ClusterReaderConnection(commands.client, commands.nodes, self.key)
        else:
            self.connection = Multiplexer(state.clients[self.shard].connection_pool, direct=True)
        self.wake = asyncio.Event()
        #: True while a pop waits inside Redis.
        self.blocking = False
        #: Pops written and not yet answered.
        self.outstanding = 0
        self.stopped = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    def wanted(self) -> bool:
        """True while a pop is useful: a receiver waits (normal channel), or this process
        received on its channels in the last LINGER_SECONDS (its list is read ahead, so a
        message sent to it is popped in the same round trip as the send)."""
        if self.owner is not None:
            return self.state.local.waiting > 0 or time.monotonic() < self.state.local_active_until
        return self.state.normal.has_waiters(self.name)

    def stop(self) -> asyncio.Task[None]:
        """Stop reading (items popped from now on are lost: the layer is closing)."""
        self.stopped = True
        self.task.cancel()
        return self.task

    async def _run(self) -> None:
        try:
            # redis-py may swallow a cancellation during a blocking pop: check the flag too.
            while not self.stopped:
                # Pops already queued in Redis are read to the end before the reader stops.
                if not self.outstanding and not self.wanted():
                    if self.owner is not None or not await self._linger():
                        return
                    continue
                try:
                    items = await self._pop()
                except CONNECTION_ERRORS as exc:
                    if self.stopped:
                        return
                    await self.outage.wait(exc)
                    continue
                except Exception:
                    if self.stopped:
                        return
                    logger.exception("reading %s failed; retrying", self.key)
                    await asyncio.sleep(self.outage.cap)
                    continue
                self.outage.succeeded()
                self._deliver(items)
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Cancelled during the pop and redis-py swallowed it: stop now (what was
                    # popped is buffered; close() puts it back).
                    raise asyncio.CancelledError
        finally:
            if self.state.readers.get(self.name) is self:
                del self.state.readers[self.name]
            # Nothing pending after a pop returned: the connection goes back to the pool.
            await self.connection.close(reuse=not self.stopped)

    async def _linger(self) -> bool:
        """Wait for a new receiver; False when none came and the reader should end."""
        self.wake.clear()
        try:
            await asyncio.wait_for(self.wake.wait(), LINGER_SECONDS)
        except TimeoutError:
            return self.wanted()
        return True

    async def _pop(self) -> list[bytes]:
        # Its own connection: a blocking pop would stall the shared one. A process's list is
        # read with PIPELINE pops queued in Redis at once, so the next message is popped the
        # moment it arrives and the pops cost one write per PIPELINE messages.
        connection = self.connection
        if self.outstanding == 0:
            await connection.connect()
            count = BATCH if self.owner is not None else 1
            depth = PIPELINE if self.owner is not None else 1
            command = ("BLMPOP", BLOCK_SECONDS, 1, self.key, "LEFT", "COUNT", count)
            connection.write(*[command] * depth)
            self.outstanding = depth
        self.blocking = True
        try:
            (result,) = await connection.read(1)
        except BaseException:
            self.outstanding = 0  # the connection was closed with them
            raise
        finally:
            self.blocking = False
        self.outstanding -= 1
        if isinstance(result, ResponseError):
            raise result
        return result[1] if result else []

    def _deliver(self, items: list[bytes]) -> None:
        # Buffers keep (raw item, payload offset): receive() decodes the payload, and
        # close() can put back whatever nobody received, exactly as it was.
        state = self.state
        now = time.time()
        for item in items:
            try:
                expires_ms, channel, start = parse_header(item)
            except RemoteProtocolError as exc:
                logger.warning("dropped an unreadable message from %s: %s", self.key, exc)
                continue
            expires_at = expires_ms / 1000
            if self.owner is None:
                if expires_at > now:
                    state.normal.put(self.name, (item, start), expires_at)
                continue
            # One item may be addressed to several channels of this process (group_send):
            # each buffer gets it, and each receive decodes its own copy.
            for name in channel.split(",") if "," in channel else (channel,):
                if expires_at > now:
                    state.local.put(name, (item, start), expires_at)
                else:
                    state.mark_received(name)


async def _disconnect(client: Any) -> None:
    """Close every connection of a client (one server's pool, or every node of a cluster)."""
    if isinstance(client, RedisCluster):
        await client.aclose()
    else:
        await client.connection_pool.disconnect()


# loop -> the layers holding a LoopState for it, so loop.close() can release them.
_loop_layers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet[Any]] = (
    weakref.WeakKeyDictionary()
)


class _PerLoopLayer(Protocol):
    """A layer keeping state per event loop (both Redis layers)."""

    def forget_loop(self, loop: asyncio.AbstractEventLoop) -> Any: ...


def release_on_close(loop: asyncio.AbstractEventLoop, layer: _PerLoopLayer) -> None:
    """Arrange for ``layer``'s state of ``loop`` to be closed when the loop closes.

    ``layer.forget_loop(loop)`` must return that state (with an ``aclose()``) or None.
    """
    layers = _loop_layers.get(loop)
    if layers is None:
        layers = _loop_layers[loop] = weakref.WeakSet()
        original_close = loop.close

        def close() -> None:
            for owner in list(_loop_layers.pop(loop, ())):
                state = owner.forget_loop(loop)
                if state is not None and not loop.is_closed() and not loop.is_running():
                    loop.run_until_complete(state.aclose())
            original_close()

        try:
            loop.close = close  # type: ignore[method-assign]
        except AttributeError:
            # uvloop loops take no attributes; they live as long as the process anyway.
            logger.debug("cannot hook close() of %r; its connections close with the process", loop)
    layers.add(layer)
