"""One room across the five protocols: everyone sees everyone else's messages, tagged with
sender and protocol; history is in the database (a new conversation reads it); flood control
answers politely once per burst."""

from __future__ import annotations

import pytest
from django.test import override_settings

from consumers.bot.flood import FloodControl
from tests.unit.consumers.bot.clients import (
    SILENCE,
    AprsClient,
    LinkClient,
    MqttClient,
    TelegramClient,
    WebClient,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_message_reaches_every_protocol_once(room: str) -> None:
    web = WebClient("ana", room)
    tg = TelegramClient("tgbob", room)
    mqtt = MqttClient("sensor", room)
    link = LinkClient("N0LNK-1", room)
    aprs = AprsClient("N0APR-9", room)
    clients = [web, tg, mqtt, link, aprs]
    for index, client in enumerate(clients):
        await client.start()
        for other in clients[: index + 1]:
            await other.more(first=0.05)
    for client in clients:
        assert await client.say(f"hi from {client.protocol}", first=SILENCE) == []
        for other in clients:
            await other.more(first=1.0 if other is not client else 0.05)
    expected = {
        "ana@web: hi from web",
        "tgbob@telegram: hi from telegram",
        "sensor@mqtt: hi from mqtt",
        "N0LNK-1@radio: hi from ax25",
        "N0APR-9@radio: hi from aprs",
    }
    for client in clients:
        own = next(line for line in expected if line.endswith(f"from {client.protocol}"))
        assert sorted(client.room) == sorted(expected - {own}), client.protocol
    # MQTT publishes every message of the room on chat/R/out, its own sender's too.
    assert {(m["sender"], m["source"]) for m in mqtt.published if m["sender"] != "bot"} == {
        ("ana", "web"),
        ("tgbob", "telegram"),
        ("sensor", "mqtt"),
        ("N0LNK-1", "radio"),
        ("N0APR-9", "radio"),
    }
    for client in clients:
        await client.stop()


async def test_history_is_read_from_the_database_by_a_new_conversation(room: str) -> None:
    first = TelegramClient("writer", room)
    await first.start()
    await first.say("remember me", first=SILENCE)
    await first.stop()
    later = WebClient("reader", room)
    await later.start()
    history = later.frames[1]
    assert [(m["sender"], m["text"], m["source"]) for m in history["messages"]] == [
        ("writer", "remember me", "telegram")
    ]
    await later.stop()


async def test_flood_control_answers_once_per_burst(room: str) -> None:
    FloodControl._default = None
    with override_settings(BOT_FLOOD_LIMIT=3, BOT_FLOOD_SECONDS=60):
        tg = TelegramClient("flooder", room)
        await tg.start()  # its /join is the first line
        assert await tg.say("one", first=SILENCE) == []
        assert await tg.say("two", first=SILENCE) == []
        refused = await tg.say("three")
        assert len(refused) == 1 and refused[0].startswith("Easy, please: at most 3 messages")
        assert (
            await tg.say("four", first=SILENCE) == []
        )  # told already: silence, not a flood of replies
        await tg.stop()
    FloodControl._default = None


def test_flood_window_on_a_fake_clock() -> None:
    flood = FloodControl(limit=2, seconds=10)
    assert flood.check("a", 0.0) is None
    assert flood.check("a", 1.0) is None
    assert flood.check("b", 1.0) is None  # per identity
    told = flood.check("a", 2.0)
    assert told is not None and "Try again in 8 s" in told
    assert flood.check("a", 3.0) == ""
    assert flood.check("a", 10.5) is None  # the first one left the window
