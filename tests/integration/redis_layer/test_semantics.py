"""RedisChannelLayer against the real Redis: Channels semantics, capacity, expiry, groups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
import redis.asyncio

from gateway.exceptions import ChannelFull, InvalidChannelName, InvalidMessage
from gateway.layers.redis import RedisChannelLayer
from gateway.metrics import layer_messages

pytestmark = pytest.mark.integration

MakeLayer = Callable[..., RedisChannelLayer]


async def keys_of(layer: RedisChannelLayer) -> list[bytes]:
    client = layer._state().clients[0]
    return [key async for key in client.scan_iter(match=f"{layer.prefix}:*")]


async def test_normal_channel_fifo(layer: RedisChannelLayer) -> None:
    for i in range(5):
        await layer.send("test.fifo", {"type": "m", "n": i})
    assert [(await layer.receive("test.fifo"))["n"] for _ in range(5)] == list(range(5))


async def test_process_local_channels_between_layers(make_layer: MakeLayer) -> None:
    sender, receiver = make_layer(), make_layer()
    names = [await receiver.new_channel() for _ in range(3)]
    assert len({name.split("!")[0] for name in names}) == 1  # one process list
    for i, name in enumerate(names):
        await sender.send(name, {"type": "m", "n": i})
    assert [(await receiver.receive(name))["n"] for name in reversed(names)] == [2, 1, 0]
    await sender.close()
    await receiver.close()


async def test_receive_refuses_another_process_channel(make_layer: MakeLayer) -> None:
    theirs = await make_layer().new_channel()
    mine = make_layer()
    with pytest.raises(InvalidChannelName, match="not made by this layer") as info:
        await mine.receive(theirs)
    # channels_redis asserts here (test_reject_bad_client_prefix expects AssertionError).
    assert isinstance(info.value, AssertionError)
    await mine.close()


async def test_receive_waits_for_a_later_send(make_layer: MakeLayer) -> None:
    sender, receiver = make_layer(), make_layer()
    name = await receiver.new_channel()
    waiting = asyncio.create_task(receiver.receive(name))
    normal = asyncio.create_task(receiver.receive("test.later"))
    await asyncio.sleep(0.05)
    await sender.send(name, {"type": "local"})
    await sender.send("test.later", {"type": "normal"})
    assert await waiting == {"type": "local"}
    assert await normal == {"type": "normal"}
    await sender.close()
    await receiver.close()


async def test_capacity_is_per_channel(make_layer: MakeLayer) -> None:
    layer = make_layer(capacity=2, channel_capacity={"test.big*": 4})
    busy, quiet = await layer.new_channel(), await layer.new_channel()
    for _ in range(2):
        await layer.send(busy, {"type": "m"})
    with pytest.raises(ChannelFull, match="is full"):
        await layer.send(busy, {"type": "m"})
    await layer.send(quiet, {"type": "m"})  # same process list, own capacity
    for _ in range(4):
        await layer.send("test.big.one", {"type": "m"})
    with pytest.raises(ChannelFull):
        await layer.send("test.big.one", {"type": "m"})
    # Receiving frees the slot again.
    await layer.receive(busy)
    await layer.send(busy, {"type": "m"})
    await layer.close()


async def test_expired_messages_are_not_delivered(make_layer: MakeLayer) -> None:
    layer = make_layer(expiry=0.05, capacity=1)
    name = await layer.new_channel()
    await layer.send("test.exp", {"type": "old"})
    await layer.send(name, {"type": "old"})
    await asyncio.sleep(0.2)
    # The expired item no longer counts against capacity, nor is it delivered.
    await layer.send("test.exp", {"type": "new"})
    await layer.send(name, {"type": "new"})
    assert await layer.receive("test.exp") == {"type": "new"}
    assert await layer.receive(name) == {"type": "new"}
    await layer.close()


async def test_groups(make_layer: MakeLayer) -> None:
    layer = make_layer()
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    await layer.group_add("room", "test.worker")
    await layer.group_send("room", {"type": "hello"})
    assert await layer.receive(a) == {"type": "hello"}
    assert await layer.receive(b) == {"type": "hello"}
    assert await layer.receive("test.worker") == {"type": "hello"}
    await layer.group_discard("room", b)
    await layer.group_discard("room", "test.never")
    await layer.group_send("room", {"type": "again"})
    assert await layer.receive(a) == {"type": "again"}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(b), 0.2)
    await layer.close()


async def test_group_expiry_drops_members(make_layer: MakeLayer) -> None:
    layer = make_layer(group_expiry=0.05)
    await layer.group_add("room", "test.old")
    await asyncio.sleep(0.2)
    await layer.group_add("room", "test.new")
    await layer.group_send("room", {"type": "m"})
    assert await layer.receive("test.new") == {"type": "m"}
    client = layer._state().clients[0]
    assert await client.zrange(layer.group_key("room"), 0, -1) == [b"test.new"]
    await layer.close()


async def test_group_send_over_capacity_is_logged_and_counted(
    make_layer: MakeLayer, caplog: pytest.LogCaptureFixture
) -> None:
    layer = make_layer(capacity=1)
    full, free = await layer.new_channel(), await layer.new_channel()
    await layer.send(full, {"type": "filler"})
    await layer.group_add("room", full)
    await layer.group_add("room", free)
    before = layer._over_capacity._value.get()
    with caplog.at_level(logging.INFO, logger="gateway.layers.redis"):
        await layer.group_send("room", {"type": "m"})
    # INFO, as channels_redis logs it: a slow member is routine, the counter is for alerts.
    (record,) = [r for r in caplog.records if "over capacity" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert "1 of 2 channels over capacity in group" in record.getMessage()
    assert layer._over_capacity._value.get() == before + 1
    assert await layer.receive(free) == {"type": "m"}
    assert await layer.receive(full) == {"type": "filler"}
    await layer.close()


async def test_group_send_with_capacity_patterns(make_layer: MakeLayer) -> None:
    layer = make_layer(capacity=5, channel_capacity={"test.tiny": 1})
    await layer.send("test.tiny", {"type": "filler"})
    await layer.group_add("g", "test.tiny")
    await layer.group_add("g", "test.roomy")
    await layer.group_send("g", {"type": "m"})
    assert await layer.receive("test.roomy") == {"type": "m"}
    assert await layer.receive("test.tiny") == {"type": "filler"}
    await layer.close()


async def test_bad_input_never_reaches_redis(layer: RedisChannelLayer) -> None:
    with pytest.raises(InvalidMessage, match="cannot be serialized"):
        await layer.send("test.bad", {"type": "x", "obj": object()})
    with pytest.raises(InvalidMessage, match="must be a dict"):
        await layer.send("test.bad", ["x"])  # type: ignore[arg-type]
    with pytest.raises(InvalidChannelName):
        await layer.send("test bad", {"type": "x"})
    with pytest.raises(InvalidChannelName):
        await layer.group_add("bad!group", "test.c")
    with pytest.raises(InvalidMessage):
        await layer.group_send("g", {"type": "x", "set": {1, 2}})
    assert await keys_of(layer) == []


@pytest.mark.parametrize("serializer", ["msgpack", "json"])
async def test_encryption_and_serializers(make_layer: MakeLayer, serializer: str) -> None:
    old = make_layer(symmetric_encryption_keys=["old"], serializer_format=serializer)
    rotated = make_layer(symmetric_encryption_keys=["new", "old"], serializer_format=serializer)
    await old.send("test.secret", {"type": "m", "text": "plain words"})
    raw = await old._state().clients[0].lrange(old.channel_key("test.secret"), 0, -1)
    assert b"plain words" not in raw[0]
    assert await rotated.receive("test.secret") == {"type": "m", "text": "plain words"}
    await old.close()
    await rotated.close()


async def test_undecryptable_message_is_dropped_and_logged(
    make_layer: MakeLayer, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = make_layer(symmetric_encryption_keys=["other"])
    mine = make_layer(symmetric_encryption_keys=["mine"])
    await stranger.send("test.enc", {"type": "unreadable"})
    await mine.send("test.enc", {"type": "readable"})
    with caplog.at_level(logging.WARNING, logger="gateway.layers.redis"):
        assert await mine.receive("test.enc") == {"type": "readable"}
    assert "could not be decrypted" in caplog.text
    await stranger.close()
    await mine.close()


async def test_cancelled_receive_loses_and_reorders_nothing(make_layer: MakeLayer) -> None:
    sender, receiver = make_layer(), make_layer()
    name = await receiver.new_channel()
    for channel in (name, "test.cancel"):
        for round_ in range(20):
            task = asyncio.create_task(receiver.receive(channel))
            await asyncio.sleep(0)
            await sender.send(channel, {"type": "m", "n": 2 * round_})
            await sender.send(channel, {"type": "m", "n": 2 * round_ + 1})
            task.cancel()  # maybe before, maybe after the pop: either way nothing is lost
            try:
                first = [(await task)["n"]]
            except asyncio.CancelledError:
                first = []
            rest = [(await receiver.receive(channel))["n"] for _ in range(2 - len(first))]
            assert first + rest == [2 * round_, 2 * round_ + 1]
    await sender.close()
    await receiver.close()


async def test_flush_deletes_only_this_prefix(make_layer: MakeLayer, redis_url: str) -> None:
    layer = make_layer()
    other = redis.asyncio.Redis.from_url(redis_url)
    neighbour = f"{layer.prefix}x:keep"  # shares the prefix text, not the "prefix:" namespace
    await other.set(neighbour, b"1", ex=60)
    await layer.send("test.a", {"type": "m"})
    await layer.group_add("g", "test.a")
    await layer.flush()
    assert await keys_of(layer) == []
    assert await other.get(neighbour) == b"1"
    await other.delete(neighbour)
    await other.aclose()
    await layer.close()


async def test_many_channels_send_then_receive(make_layer: MakeLayer) -> None:
    sender, receiver = make_layer(), make_layer()
    names = [await receiver.new_channel() for _ in range(1000)]
    for i, name in enumerate(names):
        await sender.send(name, {"type": "m", "n": i})
    assert [(await receiver.receive(name))["n"] for name in names] == list(range(1000))
    # Everything was received: no per-channel counts stay behind in Redis (they are sent
    # in the background: wait for them, up to a generous bound).
    client = receiver._state().clients[0]
    owner = names[0].split("!")[0] + "!"
    for _ in range(500):
        if await client.hlen(receiver.count_key(owner)) == 0:
            break
        await asyncio.sleep(0.01)
    assert await client.hlen(receiver.count_key(owner)) == 0
    await sender.close()
    await receiver.close()


async def test_close_releases_connections_and_layer_stays_usable(layer: RedisChannelLayer) -> None:
    name = await layer.new_channel()
    await layer.send(name, {"type": "m"})
    await layer.receive(name)
    pool = layer._state().clients[0].connection_pool
    await layer.close()
    connections = [*pool._in_use_connections, *pool._available_connections]
    assert connections
    assert not any(connection.is_connected for connection in connections)
    await layer.send(name, {"type": "after"})
    assert await layer.receive(name) == {"type": "after"}


async def test_metrics(layer: RedisChannelLayer) -> None:
    sent = layer_messages("redis", "send")
    received = layer_messages("redis", "receive")
    before = sent._value.get(), received._value.get()
    await layer.send("test.metrics", {"type": "m"})
    await layer.receive("test.metrics")
    assert (sent._value.get(), received._value.get()) == (before[0] + 1, before[1] + 1)


async def test_concurrent_sends_are_pipelined_in_order(make_layer: MakeLayer) -> None:
    sender, receiver = make_layer(capacity=1000), make_layer(capacity=1000)
    names = [await receiver.new_channel() for _ in range(4)] + ["test.par"]
    await asyncio.gather(*(sender.send(names[i % 5], {"type": "m", "i": i}) for i in range(500)))
    for k, name in enumerate(names):
        got = [(await receiver.receive(name))["i"] for _ in range(100)]
        assert got == list(range(k, 500, 5))
    await sender.close()
    await receiver.close()


async def test_foreign_items_are_dropped_with_a_warning(
    layer: RedisChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    client = layer._state().clients[0]
    await client.rpush(layer.channel_key("test.junk"), b"not ours")
    await layer.send("test.junk", {"type": "ours"})
    with caplog.at_level(logging.WARNING, logger="gateway.layers.redis"):
        assert await layer.receive("test.junk") == {"type": "ours"}
    assert "not a channel layer item" in caplog.text
