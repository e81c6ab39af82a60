"""Devices over MQTT and linked identities: telemetry stored and watched, /set only for an
authorized identity and then published to the device, offline detection telling watchers,
one-time link codes, and scope["user"] on every protocol."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings

from consumers.bot import store
from consumers.devices import DeviceConsumer, record_telemetry
from consumers.models import Device, Telemetry
from consumers.tasks import detect_offline
from gateway.db import database_sync_to_async
from gateway.exceptions import ChannelFull
from gateway.layers import get_channel_layer
from gateway.testing import ApplicationCommunicator
from tests.unit.consumers.bot.clients import (
    AprsClient,
    Client,
    MqttClient,
    TelegramClient,
    WebClient,
    drain,
)

pytestmark = pytest.mark.django_db(transaction=True)


def device_scope(device_id: str) -> dict[str, Any]:
    return {
        "type": "mqtt",
        "topic": f"devices/{device_id}/telemetry",
        "topic_route": {
            "kwargs": {"device_id": device_id},
            "args": (),
            "pattern": "devices/{device_id}/#",
            "name": None,
        },
        "client_id": "test",
    }


def mqtt_message(topic: str, text: str) -> dict[str, Any]:
    return {
        "type": "mqtt.message",
        "topic": topic,
        "payload": text.encode(),
        "text": text,
        "qos": 1,
        "retain": False,
        "dup": False,
        "properties": {},
    }


@pytest.fixture
async def device() -> AsyncIterator[tuple[str, ApplicationCommunicator]]:
    device_id = f"dev-{uuid.uuid4().hex[:6]}"
    comm = ApplicationCommunicator(DeviceConsumer.as_asgi(), device_scope(device_id))
    await comm.send_input({"type": "mqtt.connect", "topic": "x", "client_id": "t"})
    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", '{"temp": 20}'))
    await comm.receive_nothing(timeout=0.5)
    yield device_id, comm
    await comm.send_input({"type": "mqtt.disconnect", "reason": "shutdown"})
    await comm.wait()


@database_sync_to_async
def make_user(name: str, *, may_control: bool) -> User:
    user = User.objects.create_user(name, password="x")
    if may_control:
        user.user_permissions.add(Permission.objects.get(codename="control_device"))
    return user


async def started(client: Client) -> Client:
    await client.start()
    return client


async def test_telemetry_is_stored_and_bad_payloads_are_ignored(
    device: tuple[str, ApplicationCommunicator], caplog: pytest.LogCaptureFixture
) -> None:
    device_id, comm = device
    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", '{"hum": 40}'))
    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", "not json"))
    assert await comm.receive_nothing(timeout=0.5)
    found = await database_sync_to_async(store.device)(device_id)
    assert found is not None and found["online"]
    assert {k: v[0] for k, v in found["values"].items()} == {"temp": 20, "hum": 40}
    count = await database_sync_to_async(
        lambda: Telemetry.objects.filter(device__device_id=device_id).count()
    )()
    assert count == 2
    assert "telemetry is not a JSON object" in caplog.text


async def test_set_refused_unlinked_then_accepted_linked_and_published(
    device: tuple[str, ApplicationCommunicator], room: str
) -> None:
    device_id, comm = device
    tg = await started(TelegramClient("tguser", room))
    assert "Not allowed" in " ".join(await tg.say(f"/set {device_id} power on"))
    assert await comm.receive_nothing(timeout=0.3)

    # A web login with the permission gets a code and types it on Telegram.
    await make_user("operator", may_control=True)
    web = WebClient("oper", room)
    web_user = await database_sync_to_async(User.objects.get)(username="operator")
    await _start_web_as(web, web_user)
    code_line = " ".join(await web.say("/link"))
    code = code_line.split("Your code: ")[1].split(".")[0]
    assert "Linked: telegram:" in " ".join(await tg.say(f"/link {code}"))
    assert tg.comm.scope["user"].get_username() == "operator"
    assert "unknown or expired" in " ".join(await tg.say(f"/link {code}"))  # one time only

    assert f"Sent to {device_id}: power=on" in " ".join(await tg.say(f"/set {device_id} power on"))
    published = await comm.receive_output(timeout=5)
    assert published["type"] == "mqtt.publish"
    assert published["topic"] == f"devices/{device_id}/cmd"
    assert json.loads(published["text"]) == {"power": "on"}
    await tg.stop()
    await web.stop()


async def _start_web_as(client: WebClient, user: User) -> None:
    from consumers.chat import ChatConsumer
    from gateway.testing import WebsocketCommunicator

    client.comm = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    client.comm.scope["user"] = user
    connected, _ = await client.comm.connect()
    assert connected
    await client.comm.send_json_to({"type": "join", "room": client.room_name, "nick": "oper"})
    await drain(client.comm)


async def test_watch_alerts_whoever_asked_on_their_protocol(
    device: tuple[str, ApplicationCommunicator], room: str
) -> None:
    device_id, comm = device
    radio = await started(AprsClient("N0WCH-1", room))
    mqtt = await started(MqttClient("sensorfan", room))
    assert "Watching" in " ".join(await radio.say(f"watch {device_id} temp > 30"))
    assert "Watching" in " ".join(await mqtt.say(f"/watch {device_id} temp <= 5"))

    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", '{"temp": 31}'))
    assert f"Alert: {device_id} temp=31 (> 30)" in await radio.more()
    assert await mqtt.more(first=0.3) == []
    # Still above: no second alert; below and above again: one more.
    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", '{"temp": 35}'))
    assert await radio.more(first=0.5) == []
    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", '{"temp": 2}'))
    assert f"Alert: {device_id} temp=2 (<= 5)" in await mqtt.more()
    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", '{"temp": 33}'))
    assert f"Alert: {device_id} temp=33 (> 30)" in await radio.more()
    await radio.stop()
    await mqtt.stop()


async def test_a_full_watch_channel_keeps_the_reading_and_says_what_to_start(
    device: tuple[str, ApplicationCommunicator],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device_id, comm = device
    monkeypatch.setattr(DeviceConsumer, "watch_channel_full", False)  # restored afterwards
    channel = f"bot-watch-{uuid.uuid4().hex[:6]}"  # nobody reads it: the watch process is down
    layer = get_channel_layer()
    assert layer is not None
    with override_settings(BOT_WATCH_CHANNEL=channel):
        while True:
            try:
                await layer.send(channel, {"type": "watch.check"})
            except ChannelFull:
                break
        for temp in (98, 99):
            await comm.send_input(
                mqtt_message(f"devices/{device_id}/telemetry", json.dumps({"temp": temp}))
            )
        assert await comm.receive_nothing(timeout=0.5)
    found = await database_sync_to_async(store.device)(device_id)
    assert found is not None and found["values"]["temp"][0] == 99
    assert caplog.text.count(f"`manage.py runworker {channel}`") == 1  # once per outage


async def test_offline_by_last_will_and_by_silence_tells_watchers(room: str) -> None:
    web = await started(WebClient("watcher", room))
    device_id = f"dev-{uuid.uuid4().hex[:6]}"
    comm = ApplicationCommunicator(DeviceConsumer.as_asgi(), device_scope(device_id))
    await comm.send_input({"type": "mqtt.connect", "topic": "x", "client_id": "t"})
    await comm.send_input(mqtt_message(f"devices/{device_id}/telemetry", '{"v": 1}'))
    await comm.receive_nothing(timeout=0.5)
    await web.say(f"/watch {device_id} v > 100")
    await comm.send_input(mqtt_message(f"devices/{device_id}/status", "offline"))
    await comm.send_input({"type": "mqtt.disconnect", "reason": "offline"})
    await comm.wait()
    assert any("went offline (its status says offline)" in line for line in await web.more())
    assert "is offline" in " ".join(await web.say(f"/status {device_id}"))

    # Back, then silent: the periodic task marks it offline and tells the watcher once.
    await record_telemetry(device_id, {"v": 2}, 1_000.0)
    assert "back online" in " ".join(await web.more())
    assert await database_sync_to_async(detect_offline)() >= 1
    assert any("went offline (silent for" in line for line in await web.more())
    await database_sync_to_async(detect_offline)()
    assert await web.more(first=0.3) == []
    assert not (await database_sync_to_async(Device.objects.get)(device_id=device_id)).online
    await web.stop()
