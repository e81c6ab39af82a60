"""Each command on each protocol, through the testing communicators: the same answers on the
web, Telegram, MQTT, AX.25 connected mode and APRS (radio text fitted to its limits)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from consumers.bot import store
from tests.unit.consumers.bot.clients import CLIENTS, SILENCE, Client

pytestmark = pytest.mark.django_db(transaction=True)

PROTOCOLS = sorted(CLIENTS)


def nick_for(protocol: str) -> str:
    tail = uuid.uuid4().hex[:4].upper()
    # Radio identities are callsigns; the others pick names.
    return f"N{tail[:1]}C{tail[1:3]}-5" if protocol in ("ax25", "aprs") else f"u{tail.lower()}"


@pytest.fixture(params=PROTOCOLS)
async def client(request: pytest.FixtureRequest, room: str) -> AsyncIterator[Client]:
    c = CLIENTS[request.param](nick_for(request.param), room)
    await c.start()
    yield c
    await c.stop()


def joined(lines: list[str]) -> str:
    return " ".join(lines)


async def test_help(client: Client) -> None:
    text = joined(await client.say("/help"))
    for command in ("help", "nick NAME", "join ROOM", "leave", "rooms", "who", "history"):
        assert command in text


async def test_nick(client: Client) -> None:
    assert "You are now Zed" in joined(await client.say("/nick Zed"))
    assert "You are Zed" in joined(await client.say("/nick"))
    assert "nickname may use" in joined(await client.say("/nick <script>"))


async def test_rooms_who_and_history(client: Client, room: str) -> None:
    assert room in joined(await client.say("/rooms"))
    who = joined(await client.say("/who"))
    assert f"In {room}:" in who and client.protocol.replace("aprs", "ax25") in who
    assert "No messages" in joined(await client.say("/history"))
    assert await client.say("hello from the test", first=SILENCE) == []
    assert "hello from the test" in joined(await client.say("/history 5"))
    assert "1 to 50" in joined(await client.say("/history lots"))


async def test_join_and_leave(client: Client, room: str) -> None:
    assert f"You are in {room} already" in joined(await client.say(f"/join {room.upper()}"))
    assert "You left" in joined(await client.say("/leave"))
    assert "not in a room" in joined(await client.say("/who"))
    assert "not in a room" in joined(await client.say("just talking"))
    assert f"You joined {room}-2" in joined(await client.say(f"/join {room}-2"))


async def test_unknown_command(client: Client) -> None:
    assert "Unknown command /frob" in joined(await client.say("/frob"))


async def test_devices_status_set_watch(client: Client) -> None:
    device = f"dev-{uuid.uuid4().hex[:6]}"
    await _telemetry(device, {"temp": 21.5})
    assert device in joined(await client.say("/devices"))
    status = joined(await client.say(f"/status {device}"))
    assert f"{device} is online" in status and "temp=21.5" in status
    assert "No device 'nope'" in joined(await client.say("/status nope"))
    assert "Not allowed" in joined(await client.say(f"/set {device} power on"))
    assert f"Watching {device} temp > 30" in joined(await client.say(f"/watch {device} temp > 30"))
    assert "not a number" in joined(await client.say(f"/watch {device} temp > hot"))
    assert "Stopped 1 watch" in joined(await client.say(f"/unwatch {device}"))


async def test_link_without_account_explains(client: Client) -> None:
    assert "not linked" in joined(await client.say("/link"))
    assert "unknown or expired" in joined(await client.say("/link NOPE12"))


async def test_report(client: Client, room: str) -> None:
    await client.say("one for the report", first=SILENCE)
    lines = await client.say(f"/report {room} 1h")
    # Eager Celery: the answer may come with the acknowledgement or right after it.
    text = joined(lines) or ""
    if f"Room {room}" not in text:
        text += joined(await client.more())
    assert "Working on the report" in text
    assert f"Room {room}, last 1h: 1 messages" in text


async def _telemetry(device_id: str, data: dict[str, float]) -> None:
    from gateway.db import database_sync_to_async

    await database_sync_to_async(store.record_telemetry)(device_id, data, 1_000.0)
