"""The room fan-out to conversations an adapter reaches without a scope (``scope["reach"]``):
a Telegram chat or APRS station that joined a room gets its messages through the adapter's
reach channel, once, while its scope is open and after it closed; never its own. Alerts and
reports take the same way (consumers/bot/route.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from consumers.bot import store
from consumers.bot.session import BotSession
from consumers.models import Identity
from consumers.radio import RadioBot
from consumers.tasks import send_alerts
from consumers.telegram import TelegramBot
from gateway.db import database_sync_to_async
from gateway.layers import get_channel_layer
from gateway.reach import reach_address
from gateway.testing import Ax25Communicator, TelegramCommunicator
from tests.unit.consumers.bot.clients import SILENCE, MqttClient, WebClient, drain

pytestmark = pytest.mark.django_db(transaction=True)

TG_CHANNEL = "telegram.reach.1"
APRS_CHANNEL = "ax25.reach.BOT-1"


async def reached(channel: str, wait: float = 2.0) -> list[dict[str, Any]]:
    """Every message on ``channel`` until it stays empty for ``wait`` (then 0.2) seconds."""
    layer = get_channel_layer()
    out: list[dict[str, Any]] = []
    timeout = wait
    while True:
        try:
            out.append(await asyncio.wait_for(layer.receive(channel), timeout))
        except TimeoutError:
            return out
        timeout = 0.2


def telegram_chat(chat_id: int, nick: str) -> TelegramCommunicator:
    comm = TelegramCommunicator(
        TelegramBot.as_asgi(),
        chat_id=chat_id,
        user={"id": chat_id, "is_bot": False, "first_name": nick, "username": nick},
    )
    # As the Telegram adapter does (adapters/telegram/inbox.py).
    comm.scope["reach"] = reach_address(TG_CHANNEL, "telegram.send", chat_id)
    return comm


async def test_a_joined_chat_gets_room_messages_via_its_reach_before_and_after_its_scope_closed(
    room: str,
) -> None:
    chat = telegram_chat(7101, "tgreach")
    await chat.send_message(f"/join {room}")
    joined = await drain(chat)
    assert "You joined" in joined[0]["text"]
    web = WebClient("ana", room)
    await web.start()
    await web.say("hello chat", first=SILENCE)
    assert await reached(TG_CHANNEL) == [
        {"type": "telegram.send", "to": 7101, "text": f"[{room}] ana@web: hello chat"}
    ]
    # Not through the room's group as well: no duplicate in the open scope.
    assert await drain(chat, first=0.3) == []
    # The chat's own message goes to the others, not back to its own reach.
    await chat.send_message("from the chat")
    await drain(chat, first=0.3)
    assert await web.more(first=2.0) == []
    assert web.room[-1] == "tgreach@telegram: from the chat"
    assert await reached(TG_CHANNEL, wait=0.3) == []
    # The adapter closes the idle scope: the chat still gets the room.
    await chat.send_input({"type": "telegram.disconnect", "reason": "closed"})
    await chat.wait()
    await web.say("still there?", first=SILENCE)
    assert [m["text"] for m in await reached(TG_CHANNEL)] == [f"[{room}] ana@web: still there?"]
    mqtt = MqttClient("sensor", room)
    await mqtt.start()
    await mqtt.say("from mqtt", first=SILENCE)
    assert [m["text"] for m in await reached(TG_CHANNEL)] == [f"[{room}] sensor@mqtt: from mqtt"]
    await mqtt.stop()
    await web.stop()


async def test_an_aprs_station_is_reached_with_clean_text_until_its_ttl_runs_out(
    room: str,
) -> None:
    station = Ax25Communicator(RadioBot, local="BOT-1", remote="N0RCH-7", mode="aprs")
    station.scope["reach"] = reach_address(APRS_CHANNEL, "aprs.message", "N0RCH-7", ttl=3600)
    await station.send_aprs(f"JOIN {room}", msgno="1")
    await drain(station)
    web = WebClient("jörg", room)
    await web.start()
    await web.say("grüße {braces} | pipe ~ tilde", first=SILENCE)
    [message] = await reached(APRS_CHANNEL)
    assert message["to"] == "N0RCH-7" and message["type"] == "aprs.message"
    assert message["text"] == f"[{room}] jorg@web: grusse (braces}} / pipe - tilde"
    assert await drain(station, first=0.3) == []
    identity = await database_sync_to_async(Identity.objects.get)(
        protocol="ax25", address="N0RCH-7"
    )
    assert identity.reach_until is not None
    assert abs(identity.reach_until - (time.time() + 3600)) < 60
    # An hour after the station was last heard the address is not used any more.
    later = identity.reach_until + 1
    assert await database_sync_to_async(store.reach_members)(room, later) == []
    await station.send_input({"type": "ax25.disconnect", "reason": "idle"})
    await station.wait()
    await web.stop()


async def test_two_identities_in_one_group_chat_get_each_message_once(room: str) -> None:
    layer = get_channel_layer()
    shared = reach_address(TG_CHANNEL, "telegram.send", -500)
    for user in ("11", "12"):
        session = BotSession(
            protocol="telegram", address=user, nick=f"u{user}", layer=layer,
            channel_name=await layer.new_channel(), reach=shared,
        )  # fmt: skip
        await session.start()
        await session.cmd_join(_command(room))
        await session.stop()
    writer = BotSession(
        protocol="web", address="guest:w", nick="w", layer=layer,
        channel_name=await layer.new_channel(),
    )  # fmt: skip
    await writer.start()
    await writer.cmd_join(_command(room))
    await writer.say("once")
    assert [m["to"] for m in await reached(TG_CHANNEL)] == [-500]
    await writer.stop()


async def test_a_conversation_without_a_reach_forgets_the_old_one(room: str) -> None:
    layer = get_channel_layer()
    old = BotSession(
        protocol="telegram", address="21", nick="u21", layer=layer,
        channel_name=await layer.new_channel(),
        reach=reach_address(TG_CHANNEL, "telegram.send", 21),
    )  # fmt: skip
    await old.start()
    await old.cmd_join(_command(room))
    await old.stop()
    assert len(await database_sync_to_async(store.reach_members)(room, time.time())) == 1
    # The same person through a scope that cannot be reached later (a test communicator).
    again = BotSession(
        protocol="telegram", address="21", nick="u21", layer=layer,
        channel_name=await layer.new_channel(),
    )  # fmt: skip
    await again.start()
    assert await database_sync_to_async(store.reach_members)(room, time.time()) == []
    await again.stop()


async def _alerts_for(device_id: str, data: dict[str, Any]) -> None:
    def record() -> None:
        send_alerts(store.record_telemetry(device_id, data, time.time()))

    await database_sync_to_async(record)()


async def test_a_watching_chat_gets_alerts_via_its_reach_once_open_or_closed(room: str) -> None:
    device_id = f"dev-{room}"
    chat = telegram_chat(7201, "tgwatch")
    await chat.send_message(f"/watch {device_id} temp > 30")
    assert "Watching" in (await drain(chat))[0]["text"]
    await _alerts_for(device_id, {"temp": 31})
    assert await reached(TG_CHANNEL) == [
        {"type": "telegram.send", "to": 7201, "text": f"Alert: {device_id} temp=31 (> 30)"}
    ]
    # Not through the identity's group as well: nothing in the open scope.
    assert await drain(chat, first=0.3) == []
    await chat.send_input({"type": "telegram.disconnect", "reason": "closed"})
    await chat.wait()
    await _alerts_for(device_id, {"temp": 2})
    await _alerts_for(device_id, {"temp": 40})
    assert [m["text"] for m in await reached(TG_CHANNEL)] == [f"Alert: {device_id} temp=40 (> 30)"]


async def test_a_chat_gets_its_report_chart_via_its_reach(room: str) -> None:
    chat = telegram_chat(7301, "tgreport")
    await chat.send_message(f"/join {room}")
    await drain(chat)
    await chat.send_message("one for the chart")
    await chat.send_message(f"/report {room} 1h")
    # Eager Celery: the acknowledgement is the only thing in the open scope.
    replies = [m.get("text", m["type"]) for m in await drain(chat)]
    assert replies == [f"Working on the report for {room}; it comes here when ready."]
    [report] = await reached(TG_CHANNEL)
    assert report["to"] == 7301
    assert report["text"].startswith(f"Room {room}, last 1h: 1 messages")
    assert report["photo"].startswith(b"\x89PNG")
    await chat.send_input({"type": "telegram.disconnect", "reason": "closed"})
    await chat.wait()


async def test_a_station_whose_reach_expired_gets_alerts_in_its_open_scope(room: str) -> None:
    device_id = f"dev-{room}"
    station = Ax25Communicator(RadioBot, local="BOT-1", remote="N0EXP-7", mode="aprs")
    station.scope["reach"] = reach_address(APRS_CHANNEL, "aprs.message", "N0EXP-7", ttl=3600)
    await station.send_aprs(f"WATCH {device_id} temp > 30", msgno="1")
    await drain(station)
    identity = await database_sync_to_async(Identity.objects.get)(
        protocol="ax25", address="N0EXP-7"
    )
    await _alerts_for(device_id, {"temp": 31})
    [message] = await reached(APRS_CHANNEL)
    assert message["text"] == f"Alert: {device_id} temp=31 (> 30)"
    assert await drain(station, first=0.3) == []
    # Not heard for more than the ttl: the identity's group (its open scope) gets the next.
    await database_sync_to_async(store.set_reach)(
        identity.pk, station.scope["reach"], time.time() - 1
    )
    await _alerts_for(device_id, {"temp": 2})
    await _alerts_for(device_id, {"temp": 35})
    assert await reached(APRS_CHANNEL, wait=0.3) == []
    sent = await drain(station)
    assert any(f"Alert: {device_id} temp=35" in str(m) for m in sent), sent
    await station.send_input({"type": "ax25.disconnect", "reason": "idle"})
    await station.wait()


def _command(room: str) -> Any:
    from consumers.bot.commands import parse

    return parse(f"/join {room}")
