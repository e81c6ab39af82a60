"""channels_redis names used in project tests' teardown: close_pools() and flush(), plus a
registered serializer_format end to end through real Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from gateway.layers.redis import RedisChannelLayer
from gateway.layers.redis.serializers import JSONSerializer, registry

pytestmark = pytest.mark.integration

MakeLayer = Callable[..., RedisChannelLayer]


class UpperJson(JSONSerializer):
    """A project's own format: JSON with every text value upper-cased on the way in."""

    def as_bytes(self, message: Any) -> bytes:
        return super().as_bytes(
            {k: v.upper() if isinstance(v, str) and k != "type" else v for k, v in message.items()}
        )


async def test_close_pools_then_layer_reconnects(layer: RedisChannelLayer) -> None:
    name = await layer.new_channel()
    await layer.send(name, {"type": "before"})
    await layer.close_pools()
    # What was read ahead went back to Redis; the next call reconnects.
    assert await layer.receive(name) == {"type": "before"}
    await layer.send(name, {"type": "after"})
    assert await layer.receive(name) == {"type": "after"}


async def test_flush_then_close_pools_as_a_teardown(make_layer: MakeLayer) -> None:
    layer = make_layer()
    await layer.send("test.teardown", {"type": "left.over"})
    await layer.group_add("room", "test.teardown")
    await layer.flush()
    await layer.close_pools()
    fresh = make_layer()
    await fresh.send("test.teardown", {"type": "new"})
    assert await fresh.receive("test.teardown") == {"type": "new"}
    await fresh.close()


async def test_registered_serializer_format_through_redis(make_layer: MakeLayer) -> None:
    registry.register_serializer("upper-json-test", UpperJson)
    try:
        layer = make_layer(serializer_format="upper-json-test", symmetric_encryption_keys=["k"])
        await layer.send("test.custom", {"type": "m", "text": "hi"})
        assert await layer.receive("test.custom") == {"type": "m", "text": "HI"}
        await layer.close()
    finally:
        registry._registry.pop("upper-json-test")


async def test_random_prefix_length_round_trip_through_redis(make_layer: MakeLayer) -> None:
    # channels_redis' CONFIG key: random bytes before each stored payload, on send, group_send
    # and process-local channels alike; the receiver cuts them off.
    sender, receiver = make_layer(random_prefix_length=12), make_layer(random_prefix_length=12)
    await sender.send("test.prefixed", {"type": "same"})
    await sender.send("test.prefixed", {"type": "same"})
    assert await receiver.receive("test.prefixed") == {"type": "same"}
    assert await receiver.receive("test.prefixed") == {"type": "same"}
    local = await receiver.new_channel()
    await receiver.group_add("prefixed", local)
    await sender.group_send("prefixed", {"type": "to.group", "n": 1})
    assert await receiver.receive(local) == {"type": "to.group", "n": 1}
    await sender.close()
    await receiver.close()


async def test_wait_received_settles_the_counts_of_received_messages(
    make_layer: MakeLayer, redis_url: str
) -> None:
    # channels_redis' teardown name: after it, what this process received is no longer
    # counted against the process-local channels' capacity in Redis.
    receiver, sender = make_layer(capacity=2), make_layer(capacity=2)
    name = await receiver.new_channel()
    for n in range(2):
        await sender.send(name, {"type": "m", "n": n})
    for n in range(2):
        assert (await receiver.receive(name))["n"] == n
    await receiver.wait_received()
    await sender.wait_received()  # a layer that received nothing returns at once
    client = redis.Redis.from_url(redis_url)
    try:
        counts = client.hgetall(receiver.count_key(receiver.non_local_name(name)))
    finally:
        client.close()
    assert all(int(value) == 0 for value in counts.values())
    for n in range(2):  # the room is there again
        await sender.send(name, {"type": "again", "n": n})
    await receiver.close()
    await sender.close()
