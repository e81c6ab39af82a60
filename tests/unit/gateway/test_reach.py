"""gateway/reach.py: the address an adapter puts in a scope, the message check, and the loop
that feeds an adapter's reach channel to its delivery callback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from gateway.backoff import Backoff
from gateway.exceptions import ChannelLayerUnavailable, InvalidMessage
from gateway.layers import InMemoryChannelLayer
from gateway.reach import (
    ReachMessage,
    check_message,
    good_until,
    is_good,
    reach_address,
    reach_message,
    serve_channel,
)


def test_reach_address_has_channel_type_to_and_optional_ttl() -> None:
    assert reach_address("telegram.reach.7", "telegram.send", 42) == {
        "channel": "telegram.reach.7",
        "type": "telegram.send",
        "to": 42,
    }
    assert reach_address("ax25.reach.BOT-1", "aprs.message", "N0CALL-5", ttl=3600)["ttl"] == 3600.0


@pytest.mark.parametrize(
    ("channel", "event_type", "to", "ttl"),
    [
        ("", "x.send", 1, None),
        ("specific.abc!def", "x.send", 1, None),
        ("x.reach", "", 1, None),
        ("x.reach", "x.send", "", None),
        ("x.reach", "x.send", True, None),
        ("x.reach", "x.send", 1.5, None),
        ("x.reach", "x.send", 1, 0),
    ],
)
def test_reach_address_refuses_what_no_adapter_could_listen_on(
    channel: str, event_type: str, to: Any, ttl: float | None
) -> None:
    with pytest.raises(InvalidMessage):
        reach_address(channel, event_type, to, ttl=ttl)


def test_reach_message_round_trips_through_check_message() -> None:
    reach = reach_address("ax25.reach.BOT-1", "aprs.message", "N0CALL-5", ttl=60)
    message = reach_message(reach, "hello")
    assert message == {"type": "aprs.message", "to": "N0CALL-5", "text": "hello"}
    assert check_message(message, "aprs.message") == ReachMessage("N0CALL-5", "hello")


@pytest.mark.parametrize(
    "message",
    [
        "not a dict",
        {"type": "other.send", "to": 1, "text": "x"},
        {"type": "x.send", "text": "x"},
        {"type": "x.send", "to": None, "text": "x"},
        {"type": "x.send", "to": 1, "text": "   "},
        {"type": "x.send", "to": 1, "text": b"bytes"},
        {"type": "x.send", "to": 1, "text": "x", "photo": "not bytes"},
        {"type": "x.send", "to": 1, "text": "x", "photo": b""},
    ],
)
def test_check_message_refuses_bad_messages(message: Any) -> None:
    with pytest.raises(InvalidMessage):
        check_message(message, "x.send")


def test_a_photo_rides_along_with_its_caption() -> None:
    reach = reach_address("telegram.reach.7", "telegram.send", 42)
    message = reach_message(reach, "the chart", photo=b"\x89PNG")
    assert message == {"type": "telegram.send", "to": 42, "text": "the chart", "photo": b"\x89PNG"}
    checked = check_message(message, "telegram.send")
    assert checked == ReachMessage(42, "the chart", b"\x89PNG")
    assert check_message(reach_message(reach, "no chart"), "telegram.send").photo is None


def test_an_address_with_a_ttl_is_good_until_ttl_after_the_last_message() -> None:
    aprs = reach_address("ax25.reach.BOT-1", "aprs.message", "N0CALL-5", ttl=60)
    until = good_until(aprs, 1_000.0)
    assert until == 1_060.0
    assert is_good(aprs, until, 1_060.0) and not is_good(aprs, until, 1_060.5)
    telegram = reach_address("telegram.reach.7", "telegram.send", 42)
    assert good_until(telegram, 1_000.0) is None and good_until(None, 1_000.0) is None
    assert is_good(telegram, None, 1e12)
    assert not is_good(None, None, 0.0) and not is_good({"to": 1}, None, 0.0)


def test_check_message_cuts_very_long_text() -> None:
    checked = check_message({"type": "x.send", "to": 1, "text": "y" * 10_000}, "x.send")
    assert len(checked.text) == 4096


async def test_serve_channel_delivers_good_messages_and_survives_bad_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = InMemoryChannelLayer()
    got: list[ReachMessage] = []
    done = asyncio.Event()

    async def deliver(message: ReachMessage) -> None:
        if message.text == "boom":
            raise RuntimeError("delivery failed")
        if message.text == "bad address":
            raise InvalidMessage("'to' is not a chat id")
        got.append(message)
        if message.text == "last":
            done.set()

    task = asyncio.create_task(serve_channel(layer, "x.reach", "x.send", deliver))
    for message in [
        {"type": "x.send", "to": 1, "text": "first"},
        {"type": "wrong", "to": 1, "text": "dropped"},
        {"type": "x.send", "to": 2, "text": "boom"},
        {"type": "x.send", "to": "x", "text": "bad address"},
        {"type": "x.send", "to": "N0CALL", "text": "last"},
    ]:
        await layer.send("x.reach", message)
    with caplog.at_level(logging.WARNING, logger="gateway.reach"):
        await asyncio.wait_for(done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert got == [ReachMessage(1, "first"), ReachMessage("N0CALL", "last")]
    assert "dropped" in caplog.text and "x.reach" in caplog.text
    assert "delivering to 2" in caplog.text
    assert "'to' is not a chat id" in caplog.text


class FlakyLayer:
    """Unreachable for the first two receives, then one message, then waits forever."""

    def __init__(self) -> None:
        self.calls = 0

    async def receive(self, channel: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= 2:
            raise ChannelLayerUnavailable("redis is away")
        if self.calls == 3:
            return {"type": "x.send", "to": 9, "text": "back"}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_serve_channel_waits_out_a_layer_outage() -> None:
    got: list[ReachMessage] = []
    arrived = asyncio.Event()

    async def deliver(message: ReachMessage) -> None:
        got.append(message)
        arrived.set()

    backoff = Backoff("test layer", logger=logging.getLogger("test"), initial=0, maximum=0)
    task = asyncio.create_task(
        serve_channel(FlakyLayer(), "x.reach", "x.send", deliver, backoff=backoff)
    )
    await asyncio.wait_for(arrived.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert got == [ReachMessage(9, "back")]
    assert not backoff.in_outage
