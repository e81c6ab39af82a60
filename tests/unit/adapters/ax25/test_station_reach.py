"""Reach on the station (fake clock, no TNC): APRS scopes carry ``scope["reach"]``, and room
messages taken from the reach channel go to the station through the Messenger while it was
heard within the hour, at most 3 unacked parts queued per station; the rest is dropped,
logged and counted."""

from __future__ import annotations

import asyncio

import pytest

from adapters.ax25 import aprs, metrics
from adapters.ax25.frame import Callsign
from adapters.ax25.station import (
    REACH_HEARD_SECONDS,
    REACH_MAX_QUEUED,
    reach_channel_name,
)
from gateway.layers import InMemoryChannelLayer
from gateway.reach import ReachMessage
from tests.unit.adapters.ax25.test_station import BOT, OP, Rig, aprs_of, close, config
from tests.unit.adapters.ax25.test_station import make_rig as make_station_rig

#: Four APRS parts: nine, nine, nine and three words.
LONG = " ".join(f"word{i:02d}" for i in range(30))


async def make_rig(layer: InMemoryChannelLayer) -> Rig:
    return await make_station_rig(config(), layer=layer)


@pytest.fixture
async def layer() -> InMemoryChannelLayer:
    return InMemoryChannelLayer()


def dropped() -> float:
    return float(metrics.aprs("reach_dropped")._value.get())


async def test_aprs_scopes_carry_a_reach_with_a_one_hour_ttl(layer: InMemoryChannelLayer) -> None:
    rig = await make_rig(layer)
    assert rig.station.scope(BOT, OP, "aprs", ())["reach"] == {
        "channel": "ax25.reach.BOT-1",
        "type": "aprs.message",
        "to": "N0CALL-5",
        "ttl": REACH_HEARD_SECONDS,
    }
    assert "reach" not in rig.station.scope(BOT, OP, "datagram", ())
    await close(rig)


async def test_a_reach_message_on_the_layer_goes_on_the_air_as_numbered_messages(
    layer: InMemoryChannelLayer,
) -> None:
    rig = await make_rig(layer)
    await layer.send(
        reach_channel_name(BOT), {"type": "aprs.message", "to": "N0CALL-5", "text": "[r] a@web: hi"}
    )
    for _ in range(50):
        frames = await rig.sent()
        if frames:
            break
    [frame] = frames
    assert frame.source == BOT
    assert aprs_of(frame) == aprs.AprsMessage("N0CALL-5", "[r] a@web: hi", "1")
    await close(rig)


async def test_at_most_three_parts_wait_for_one_station(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(layer)
    rig.hear_aprs(b":BOT-1    :ping{9")  # heard now; the echo reply waits for its ack
    assert len(await rig.sent()) == 2
    before = dropped()
    await rig.station.deliver_reach("BOT-1", ReachMessage("N0CALL-5", LONG))
    assert rig.station.messenger.queued("BOT-1", "N0CALL-5") == REACH_MAX_QUEUED
    assert dropped() - before == 2  # four parts, room for two
    assert "2 reach part(s) dropped" in caplog.text
    assert await rig.sent() == []  # one message per station on the air at a time
    # Each ack lets the next part go; nothing is queued beyond the limit meanwhile.
    rig.hear_aprs(b":BOT-1    :ack1")
    [part1] = await rig.sent()
    nine = " ".join(LONG.split()[:9])
    assert aprs_of(part1) == aprs.AprsMessage("N0CALL-5", nine, "2")
    await rig.station.deliver_reach("BOT-1", ReachMessage("N0CALL-5", "one more"))
    assert rig.station.messenger.queued("BOT-1", "N0CALL-5") == REACH_MAX_QUEUED
    await close(rig)


async def test_a_station_not_heard_for_an_hour_is_not_reached(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(layer)
    rig.hear_aprs(b":BOT-1    :ping{9")
    await rig.sent()
    rig.hear_aprs(b":BOT-1    :ack1")
    await rig.advance(REACH_HEARD_SECONDS - 1)
    await rig.station.deliver_reach("BOT-1", ReachMessage("N0CALL-5", "still here"))
    [frame] = await rig.sent()
    assert aprs_of(frame) == aprs.AprsMessage("N0CALL-5", "still here", "2")
    rig.hear_aprs(b":BOT-1    :ack2")
    await rig.advance(2)
    before = dropped()
    await rig.station.deliver_reach("BOT-1", ReachMessage("N0CALL-5", "gone"))
    assert await rig.sent() == []
    assert dropped() - before == 1
    assert "not heard for 3601 s" in caplog.text
    await close(rig)


async def test_a_bad_address_is_refused_and_the_listener_goes_on(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(layer)
    channel = reach_channel_name(Callsign("BOT", 2))
    await layer.send(channel, {"type": "aprs.message", "to": "not a call!", "text": "x"})
    await layer.send(channel, {"type": "aprs.message", "to": "N0CALL-5", "text": "ok"})
    for _ in range(50):
        frames = await rig.sent()
        if frames:
            break
        await asyncio.sleep(0)
    [frame] = frames
    assert frame.source == Callsign("BOT", 2)
    assert "not a callsign" in caplog.text
    await close(rig)


async def test_stations_not_heard_for_an_hour_are_forgotten_and_not_reached(
    layer: InMemoryChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    """The heard times stay bounded on a busy channel; a forgotten station counts as not heard
    (the station has run for over an hour, so it would have heard it)."""
    rig = await make_rig(layer)
    other = Callsign.parse("N0CALL-7")
    rig.hear_aprs(b":BOT-1    :ping{9")
    await rig.sent()
    await rig.advance(REACH_HEARD_SECONDS + 1)
    rig.hear_aprs(b":BOT-1    :hello{3", source=other)
    await rig.sent()
    assert list(rig.station._heard) == [("BOT-1", "N0CALL-7")]
    before = dropped()
    await rig.station.deliver_reach("BOT-1", ReachMessage("N0CALL-5", "gone"))
    assert await rig.sent() == []
    assert dropped() - before == 1
    assert "not heard in the last 3600 s" in caplog.text
    # The station heard within the hour is reached (queued behind the echo's reply to it).
    queued = rig.station.messenger.queued("BOT-1", "N0CALL-7")
    await rig.station.deliver_reach("BOT-1", ReachMessage("N0CALL-7", "still here"))
    assert rig.station.messenger.queued("BOT-1", "N0CALL-7") == queued + 1
    await close(rig)
