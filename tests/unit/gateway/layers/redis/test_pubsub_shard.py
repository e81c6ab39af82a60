"""The Pub/Sub layer's subscription bookkeeping, fed Redis replies directly (no server): a
subscribe returns only once its own SUBSCRIBE is confirmed, even when an older SUBSCRIBE of the
same name (unsubscribed meanwhile) is confirmed first; published payloads reach channels and
group members; a lost connection notifies every channel."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.layers.redis.pubsub import PubSubLoopState, RedisPubSubChannelLayer, Shard


def offline_shard(**config: Any) -> tuple[PubSubLoopState, Shard, list[tuple[Any, ...]]]:
    """A loop state whose shard records what it would write and never connects."""
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], **config)
    state = PubSubLoopState(layer)
    layer._states[asyncio.get_running_loop()] = state  # what receive() will use
    shard = state.shards[0]
    written: list[tuple[Any, ...]] = []
    shard._subscriber.write = lambda *commands: written.extend(commands)  # type: ignore[method-assign]
    shard._reader = asyncio.get_running_loop().create_future()  # type: ignore[assignment]
    shard.connected = True
    return state, shard, written


async def test_subscribe_waits_for_its_own_confirmation() -> None:
    _, shard, written = offline_shard()
    first = asyncio.ensure_future(shard.subscribe("chan"))
    await asyncio.sleep(0)
    shard.unsubscribe("chan")
    second = asyncio.ensure_future(shard.subscribe("chan"))
    await asyncio.sleep(0)
    assert written == [("SUBSCRIBE", "chan"), ("UNSUBSCRIBE", "chan"), ("SUBSCRIBE", "chan")]
    shard._handle([b"subscribe", b"chan", 1])  # the first SUBSCRIBE: not ours any more
    await asyncio.sleep(0)
    assert not second.done()
    shard._handle([b"unsubscribe", b"chan", 0])
    shard._handle([b"subscribe", b"chan", 1])
    await asyncio.wait_for(second, 1)
    await asyncio.wait_for(first, 1)  # resolved with the name it waited for
    assert "chan" in shard._confirmed


async def test_payloads_reach_channels_and_group_members() -> None:
    state, shard, _ = offline_shard()
    layer = state.layer
    state.channels.update({"a", "b"})
    state.groups[layer.group_channel("room")] = {"a", "b"}
    payload = layer.serialize({"type": "hello", "n": 1})
    shard._handle([b"message", layer.group_channel("room").encode(), payload])
    shard._handle([b"message", b"a", layer.serialize({"type": "direct"})])
    assert await layer.receive("a") == {"type": "hello", "n": 1}
    assert await layer.receive("b") == {"type": "hello", "n": 1}
    assert await layer.receive("a") == {"type": "direct"}
    # A payload for a name nobody here receives any more is ignored.
    shard._handle([b"message", b"gone", payload])
    assert "gone" not in state.local


async def test_lost_connection_notifies_every_channel_once() -> None:
    state, shard, _ = offline_shard(on_disconnect="redis.disconnect")
    state.channels.update({"a", "b"})
    shard._confirmed.add("a")
    shard._connection_lost()
    shard._connection_lost()  # still the same outage: no second notice
    assert not shard.connected and not shard._confirmed
    assert state.local.pending("a") == state.local.pending("b") == 1
    assert await state.layer.receive("a") == {"type": "redis.disconnect"}
