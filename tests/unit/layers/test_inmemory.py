"""InMemoryChannelLayer: Channels semantics, capacity, expiry, groups, cancellation."""

from __future__ import annotations

import asyncio

import pytest

from gateway.clock import FakeClock
from gateway.exceptions import ChannelFull, InvalidChannelName, InvalidMessage
from gateway.layers import InMemoryChannelLayer
from gateway.metrics import layer_messages


@pytest.fixture
def layer() -> InMemoryChannelLayer:
    return InMemoryChannelLayer(capacity=3)


async def test_send_receive_fifo(layer: InMemoryChannelLayer) -> None:
    for i in range(3):
        await layer.send("test.chan", {"type": "t", "n": i})
    assert [(await layer.receive("test.chan"))["n"] for _ in range(3)] == [0, 1, 2]


async def test_messages_are_copied(layer: InMemoryChannelLayer) -> None:
    message = {"type": "t", "items": [1]}
    await layer.send("c", message)
    message["items"].append(2)
    assert (await layer.receive("c"))["items"] == [1]


async def test_receive_waits_for_send(layer: InMemoryChannelLayer) -> None:
    task = asyncio.create_task(layer.receive("wait.here"))
    await asyncio.sleep(0)
    assert not task.done()
    await layer.send("wait.here", {"type": "hello"})
    assert await task == {"type": "hello"}


async def test_process_local_channel(layer: InMemoryChannelLayer) -> None:
    name = await layer.new_channel()
    assert name.startswith("specific.inmemory!")
    assert name != await layer.new_channel()
    await layer.send(name, {"type": "local"})
    assert await layer.receive(name) == {"type": "local"}


async def test_capacity_raises_channel_full_per_channel(layer: InMemoryChannelLayer) -> None:
    for _ in range(3):
        await layer.send("busy", {"type": "t"})
    with pytest.raises(ChannelFull, match="'busy' is full"):
        await layer.send("busy", {"type": "t"})
    await layer.send("quiet", {"type": "t"})  # a busy neighbour does not fill a quiet channel
    await layer.receive("busy")
    await layer.send("busy", {"type": "t"})


async def test_channel_capacity_patterns() -> None:
    layer = InMemoryChannelLayer(capacity=5, channel_capacity={"small.*": 1})
    await layer.send("small.one", {"type": "t"})
    with pytest.raises(ChannelFull):
        await layer.send("small.one", {"type": "t"})
    for _ in range(5):
        await layer.send("big", {"type": "t"})


async def test_bad_input_is_refused(layer: InMemoryChannelLayer) -> None:
    with pytest.raises(InvalidMessage):
        await layer.send("c", "not a dict")  # type: ignore[arg-type]
    with pytest.raises(InvalidChannelName):
        await layer.send("bad name", {"type": "t"})
    with pytest.raises(InvalidChannelName):
        await layer.receive("bad name")
    with pytest.raises(InvalidChannelName):
        await layer.group_add("bad!group", "c")
    with pytest.raises(InvalidChannelName):
        await layer.group_send("bad group", {"type": "t"})
    with pytest.raises(InvalidMessage):
        await layer.group_send("g", [1])  # type: ignore[arg-type]


async def test_expired_messages_are_dropped_and_buffers_freed() -> None:
    clock = FakeClock()
    layer = InMemoryChannelLayer(expiry=60, clock=clock)
    for i in range(50):
        await layer.send(f"gone.{i}", {"type": "old"})
    await layer.send("kept", {"type": "old"})
    clock.advance(59.9)
    assert layer.receive_nowait("gone.0") == (True, {"type": "old"})  # not expired yet
    clock.advance(0.1)
    await layer.send("kept", {"type": "new"})
    assert await layer.receive("kept") == {"type": "new"}
    # An unrelated call swept the channels nobody read: their buffers are gone.
    assert len(layer._buffers) == 0


async def test_expired_channel_leaves_its_groups() -> None:
    clock = FakeClock()
    layer = InMemoryChannelLayer(expiry=60, clock=clock)
    await layer.group_add("room", "dead.consumer")
    await layer.group_add("room", "live.consumer")
    await layer.group_send("room", {"type": "m"})
    await layer.receive("live.consumer")
    clock.advance(60)
    await layer.send("other", {"type": "trigger sweep"})
    await layer.group_send("room", {"type": "m2"})
    assert await layer.receive("live.consumer") == {"type": "m2"}
    assert list(layer._groups["room"]) == ["live.consumer"]


async def test_group_send_reaches_members_and_skips_full_ones(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    await layer.group_add("g", "a")  # renewing is not a second membership
    for _ in range(3):
        await layer.send("b", {"type": "filler"})
    with caplog.at_level("DEBUG", logger="gateway.layers.inmemory"):
        await layer.group_send("g", {"type": "news"})
    assert await layer.receive("a") == {"type": "news"}
    assert "1 member(s) over capacity" in caplog.text
    assert layer.receive_nowait("a") == (False, None)


async def test_group_discard(layer: InMemoryChannelLayer) -> None:
    await layer.group_add("g", "a")
    await layer.group_discard("g", "a")
    await layer.group_discard("g", "never.joined")
    await layer.group_send("g", {"type": "nobody"})
    assert layer._groups == {}
    assert layer._memberships == {}


async def test_group_expiry() -> None:
    clock = FakeClock()
    layer = InMemoryChannelLayer(group_expiry=86400, clock=clock)
    await layer.group_add("g", "old")
    clock.advance(86400)
    await layer.group_add("g", "new")
    await layer.group_send("g", {"type": "m"})
    assert await layer.receive("new") == {"type": "m"}
    assert list(layer._groups["g"]) == ["new"]
    assert "old" not in layer._memberships


async def test_flush(layer: InMemoryChannelLayer) -> None:
    await layer.send("c", {"type": "t"})
    await layer.group_add("g", "c")
    await layer.flush()
    await layer.group_send("g", {"type": "t"})
    waiting = asyncio.create_task(layer.receive("c"))
    await asyncio.sleep(0)
    assert not waiting.done()
    await layer.send("c", {"type": "after"})
    assert await waiting == {"type": "after"}
    await layer.close()


async def test_cancelled_receive_loses_nothing(layer: InMemoryChannelLayer) -> None:
    first = asyncio.create_task(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "t", "n": 1})
    first.cancel()  # woken, then cancelled before it ran: the message must stay
    with pytest.raises(asyncio.CancelledError):
        await first
    await layer.send("c", {"type": "t", "n": 2})
    assert (await layer.receive("c"))["n"] == 1
    assert (await layer.receive("c"))["n"] == 2


async def test_cancelled_waiter_passes_the_wakeup_on(layer: InMemoryChannelLayer) -> None:
    first = asyncio.create_task(layer.receive("c"))
    second = asyncio.create_task(layer.receive("c"))
    await asyncio.sleep(0)
    await layer.send("c", {"type": "t"})
    first.cancel()
    assert await asyncio.wait_for(second, 1) == {"type": "t"}
    assert layer._buffers.waiting == 0
    assert len(layer._buffers) == 0


async def test_many_channels() -> None:
    layer = InMemoryChannelLayer()
    names = [await layer.new_channel() for _ in range(5000)]
    for i, name in enumerate(names):
        await layer.group_add(f"g{i % 10}", name)
    for g in range(10):
        await layer.group_send(f"g{g}", {"type": "m", "g": g})
    for i, name in enumerate(names):
        assert (await layer.receive(name))["g"] == i % 10
    assert len(layer._buffers) == 0


async def test_metrics_count_messages(layer: InMemoryChannelLayer) -> None:
    sent = layer_messages("inmemory", "send")
    before = sent._value.get()
    await layer.send("c", {"type": "t"})
    assert sent._value.get() == before + 1
