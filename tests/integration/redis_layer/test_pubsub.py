"""RedisPubSubChannelLayer against real Redis: channels_redis 4.3's documented behaviour (its
test suite's cases), Sentinel, encryption, and reconnecting after a redis-server restart."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from gateway.exceptions import ChannelLayerUnavailable, InvalidMessage, InvalidState
from gateway.layers.redis.pubsub import RedisPubSubChannelLayer

from .conftest import RedisServer, sentinel_for

pytestmark = pytest.mark.integration

MakeLayer = Callable[..., RedisPubSubChannelLayer]


@pytest.fixture
def make_pubsub(redis_url: str) -> MakeLayer:
    """Layers on the shared Redis; a unique prefix keeps other tests' channels apart."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"

    def make(**config: Any) -> RedisPubSubChannelLayer:
        config.setdefault("hosts", [redis_url])
        config.setdefault("prefix", prefix)
        return RedisPubSubChannelLayer(**config)

    return make


@pytest.fixture
async def layer(make_pubsub: MakeLayer) -> AsyncIterator[RedisPubSubChannelLayer]:
    channel_layer = make_pubsub()
    yield channel_layer
    await channel_layer.flush()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_send_receive(layer: RedisPubSubChannelLayer) -> None:
    channel = await layer.new_channel()
    assert channel.startswith(f"{layer.prefix}specific.")
    await layer.send(channel, {"type": "test.message", "text": "Ahoy-hoy!"})
    assert await layer.receive(channel) == {"type": "test.message", "text": "Ahoy-hoy!"}


async def test_order_is_kept(layer: RedisPubSubChannelLayer) -> None:
    channel = await layer.new_channel()
    for n in range(1, 4):
        await layer.send(channel, {"type": f"message.{n}"})
    assert [(await layer.receive(channel))["type"] for _ in range(3)] == [
        "message.1",
        "message.2",
        "message.3",
    ]


def test_send_from_another_loop_with_async_to_sync(layer: RedisPubSubChannelLayer) -> None:
    loop = asyncio.new_event_loop()
    try:
        channel = loop.run_until_complete(layer.new_channel())
        async_to_sync(layer.send, force_new_loop=True)(channel, {"type": "from.sync"})
        assert loop.run_until_complete(layer.receive(channel)) == {"type": "from.sync"}
        loop.run_until_complete(layer.close())
    finally:
        loop.close()
    # Each loop's connections were released when it closed.
    assert len(layer._states) == 0


async def test_groups(layer: RedisPubSubChannelLayer) -> None:
    one, two, three = [await layer.new_channel(prefix=f"test-gr-chan-{n}") for n in range(3)]
    for channel in (one, two, three):
        await layer.group_add("test-group", channel)
    await layer.group_discard("test-group", two)
    await layer.group_send("test-group", {"type": "message.1"})
    assert await layer.receive(one) == {"type": "message.1"}
    assert await layer.receive(three) == {"type": "message.1"}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(two), 0.2)


async def test_each_member_gets_its_own_copy(layer: RedisPubSubChannelLayer) -> None:
    one, two = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", one)
    await layer.group_add("room", two)
    await layer.group_send("room", {"type": "m", "items": [1]})
    first = await layer.receive(one)
    first["items"].append(2)
    assert await layer.receive(two) == {"type": "m", "items": [1]}
    # Scalars only: decoded once, each member gets its own shallow copy.
    await layer.group_send("room", {"type": "scalar", "n": 1})
    first = await layer.receive(one)
    first["n"] = 2
    assert await layer.receive(two) == {"type": "scalar", "n": 1}


async def test_group_across_processes(make_pubsub: MakeLayer) -> None:
    sender, receiver = make_pubsub(), make_pubsub()
    channel = await receiver.new_channel()
    await receiver.group_add("room", channel)
    # group_add returned after Redis confirmed the subscription: no sleep needed.
    await sender.group_send("room", {"type": "hello"})
    assert await receiver.receive(channel) == {"type": "hello"}
    await sender.flush()
    await receiver.flush()


async def test_receive_on_a_general_channel_of_another_layer(make_pubsub: MakeLayer) -> None:
    sender, receiver = make_pubsub(), make_pubsub()
    name = unique("test-channel")
    receiving = asyncio.ensure_future(receiver.receive(name))
    # Wait (on events, not time) until the receiver's subscription is confirmed.
    while name not in receiver._state().shard(name)._confirmed:
        await asyncio.sleep(0)
    await sender.send(name, {"type": "message.1"})
    assert await asyncio.wait_for(receiving, 5) == {"type": "message.1"}
    await sender.flush()
    await receiver.flush()


async def test_cancelled_receive_unsubscribes(layer: RedisPubSubChannelLayer) -> None:
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    receiving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiving
    assert channel not in layer._state().channels
    assert channel not in layer._state().shard(channel).wanted


async def test_names_are_unique_whatever_the_random_seed(layer: RedisPubSubChannelLayer) -> None:
    random.seed(1)
    first = await layer.new_channel()
    random.seed(1)
    assert await layer.new_channel() != first


async def test_discard_before_add_and_group_add_of_a_foreign_channel(
    layer: RedisPubSubChannelLayer,
) -> None:
    channel = await layer.new_channel(prefix="test-channel")
    await layer.group_discard("test-group", channel)
    with pytest.raises(InvalidState, match=r"self\.channel_name"):
        await layer.group_add("test-group", "not-mine")


async def test_serialize_is_channels_redis_msgpack(layer: RedisPubSubChannelLayer) -> None:
    message = {"a": True, "b": None, "c": {"d": []}}
    assert layer.serialize(message) == b"\x83\xa1a\xc3\xa1b\xc0\xa1c\x81\xa1d\x90"
    assert layer.deserialize(b"\x83\xa1a\xc3\xa1b\xc0\xa1c\x81\xa1d\x90") == message


async def test_non_dict_message_is_refused(layer: RedisPubSubChannelLayer) -> None:
    with pytest.raises(InvalidMessage, match="must be a dict"):
        await layer.send("test-channel", "message.1")  # type: ignore[arg-type]


@pytest.mark.parametrize("serializer_format", ["json", "msgpack"])
async def test_encryption_and_serializer(make_pubsub: MakeLayer, serializer_format: str) -> None:
    layer = make_pubsub(symmetric_encryption_keys=["s3cret"], serializer_format=serializer_format)
    assert b"secret text" not in layer.serialize({"type": "m", "text": "secret text"})
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "m", "text": "secret text"})
    assert await layer.receive(channel) == {"type": "m", "text": "secret text"}
    # A process with other keys cannot read it: logged and skipped, not raised.
    stranger = make_pubsub(symmetric_encryption_keys=["other"])
    await stranger.send(channel, {"type": "unreadable"})
    await layer.send(channel, {"type": "readable"})
    assert await layer.receive(channel) == {"type": "readable"}
    await layer.flush()
    await stranger.flush()


async def test_full_buffer_drops_and_logs(
    make_pubsub: MakeLayer, caplog: pytest.LogCaptureFixture
) -> None:
    layer = make_pubsub(capacity=1)
    channel = await layer.new_channel()
    with caplog.at_level(logging.INFO, logger="gateway.layers.redis.pubsub"):
        await layer.send(channel, {"type": "kept"})
        await layer.send(channel, {"type": "dropped"})
        # Pub/Sub delivers asynchronously: take "kept" only once "dropped" has met the full
        # buffer, or it would find room (bounded by pytest's timeout).
        while "over capacity" not in caplog.text:
            await asyncio.sleep(0.01)
        assert await layer.receive(channel) == {"type": "kept"}
        # Published after "dropped" on the same connection: arrives after it was handled.
        await layer.send(channel, {"type": "after"})
        assert await layer.receive(channel) == {"type": "after"}
    assert "over capacity" in caplog.text
    await layer.flush()


async def test_sentinel_host(redis_server: Callable[..., RedisServer], tmp_path: Path) -> None:
    master = redis_server()
    with sentinel_for(master, tmp_path) as port:
        layer = RedisPubSubChannelLayer(
            hosts=[{"sentinels": [("127.0.0.1", port)], "master_name": "mymaster"}]
        )
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "via sentinel"})
        assert await layer.receive(channel) == {"type": "via sentinel"}
        await layer.close()


async def test_reconnects_resubscribes_and_notifies(
    redis_server: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server()
    layer = RedisPubSubChannelLayer(
        hosts=[server.url], on_disconnect="redis.disconnect", on_reconnect="redis.reconnect"
    )
    sender = RedisPubSubChannelLayer(hosts=[server.url])
    one, two = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", one)
    with caplog.at_level(logging.INFO, logger="gateway.layers.redis.pubsub"):
        server.stop()
        assert await asyncio.wait_for(layer.receive(one), 10) == {"type": "redis.disconnect"}
        assert await asyncio.wait_for(layer.receive(two), 10) == {"type": "redis.disconnect"}
        server.start()
        assert await asyncio.wait_for(layer.receive(one), 10) == {"type": "redis.reconnect"}
        assert await asyncio.wait_for(layer.receive(two), 10) == {"type": "redis.reconnect"}
    # Subscriptions are back: a group message and a direct one arrive.
    await sender.group_send("room", {"type": "after.restart"})
    await sender.send(two, {"type": "direct"})
    assert await asyncio.wait_for(layer.receive(one), 10) == {"type": "after.restart"}
    assert await asyncio.wait_for(layer.receive(two), 10) == {"type": "direct"}
    outage = [r for r in caplog.records if "pub/sub subscriber" in r.getMessage()]
    assert [r.levelno for r in outage] == [logging.WARNING, logging.INFO]
    await layer.close()
    await sender.close()


async def test_unreachable_redis_raises_after_reconnect_timeout(
    redis_server: Callable[..., RedisServer],
) -> None:
    server = redis_server()
    layer = RedisPubSubChannelLayer(hosts=[server.url], reconnect_timeout=0.3)
    channel = await layer.new_channel()
    server.stop()
    with pytest.raises(ChannelLayerUnavailable, match=r"unreachable for 0\.3 s"):
        await layer.send(channel, {"type": "lost"})
    with pytest.raises(ChannelLayerUnavailable, match="did not confirm the subscription"):
        await layer.new_channel()
    await layer.close()
