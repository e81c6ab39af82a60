"""A Telegram chat that joined a room gets the room's messages after its scope closed, and
across an adapter restart: ``runadapter telegram`` (the real bot, project.asgi) against the
fake Bot API, the channel layer on Redis, and a web user's messages posted by another process.
Each message reaches the chat exactly once (docs/bot.md, "Rooms"). So do /watch alerts sent by
another process and a /report answered by a Celery worker after the chat's scope closed, the
chart as a photo."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.telegram.conftest import REPO, AdapterProcess, until
from tests.integration.telegram.fakeapi import FakeBotApiThread

pytestmark = pytest.mark.integration

CHAT = 9001

#: A web user's conversation in another process: join the room, say each text, leave.
WEB_USER = """
import asyncio, sys
import django
django.setup()
from consumers.bot.commands import parse
from consumers.bot.session import BotSession
from gateway.layers import get_channel_layer

async def main(room, texts):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    session = BotSession(protocol="web", address="guest:ana", nick="ana", layer=layer,
                         channel_name=channel)
    await session.start()
    await session.run(parse("/join " + room))
    for text in texts:
        await session.say(text)
    await session.stop()

asyncio.run(main(sys.argv[1], sys.argv[2:]))
"""


#: A reading from another process (as the watch process does): store it, send the alerts.
DEVICE_READING = """
import sys, time
import django
django.setup()
from consumers.bot import store
from consumers.tasks import send_alerts

send_alerts(store.record_telemetry(sys.argv[1], {"temp": int(sys.argv[2])}, time.time()))
"""


def update(update_id: int, text: str) -> dict[str, Any]:
    user = {"id": CHAT, "is_bot": False, "first_name": "Tom", "username": "tom"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": CHAT, "type": "private", "first_name": "Tom"},
            "from": user,
            "text": text,
        },
    }


def texts_to_chat(fake_api: FakeBotApiThread) -> list[str]:
    calls = fake_api.call(lambda: list(fake_api.api.calls))
    return [
        c.params["text"]
        for c in calls
        if c.method == "sendMessage" and c.status == 200 and int(c.params["chat_id"]) == CHAT
    ]


def photos_to_chat(fake_api: FakeBotApiThread) -> list[dict[str, Any]]:
    calls = fake_api.call(lambda: list(fake_api.api.calls))
    return [
        c.params
        for c in calls
        if c.method == "sendPhoto" and c.status == 200 and int(c.params["chat_id"]) == CHAT
    ]


def reading(env: dict[str, str], device_id: str, temp: int) -> None:
    subprocess.run(
        [sys.executable, "-c", DEVICE_READING, device_id, str(temp)],
        cwd=REPO,
        env=env,
        check=True,
        timeout=60,
    )


def web_says(env: dict[str, str], room: str, *texts: str) -> None:
    subprocess.run(
        [sys.executable, "-c", WEB_USER, room, *texts], cwd=REPO, env=env, check=True, timeout=60
    )


def presences(env: dict[str, str]) -> int:
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM consumers_presence").fetchone()[0])


def bot_adapter(
    adapter_factory: Callable[..., AdapterProcess], fake_api: FakeBotApiThread, redis_url: str
) -> AdapterProcess:
    """``runadapter telegram`` with the real bot on Redis; idle scopes close after 1 s."""
    return adapter_factory(
        ["telegram"],
        fake_api.url,
        ASGI_APPLICATION="project.asgi.application",
        REDIS_URL=redis_url,
        # Its own keys: other tests' messages and groups stay apart.
        REDIS_KEY_PREFIX=f"reach-{uuid.uuid4().hex[:8]}:",
        TELEGRAM_IDLE_TIMEOUT="1",
        TELEGRAM_POLL_TIMEOUT="1",
        BOT_FLOOD_LIMIT="100",
    )


def start_until_closed(adapter: AdapterProcess, fake_api: FakeBotApiThread, reply: str) -> None:
    """Start the adapter, wait for a reply containing ``reply``, then for the chat's idle scope
    to close (its presence row goes)."""
    adapter.start()
    until(
        lambda: any(reply in t for t in texts_to_chat(fake_api)),
        what=f"the reply {reply!r}",
        details=adapter.logs,
    )
    until(lambda: presences(adapter.env) == 0, what="the chat's scope closed", details=adapter.logs)


def test_a_joined_chat_gets_the_room_after_its_scope_closed_and_across_a_restart(
    fake_api: FakeBotApiThread,
    adapter_factory: Callable[..., AdapterProcess],
    redis_url: str,
) -> None:
    room = f"reach-{uuid.uuid4().hex[:6]}"
    adapter = bot_adapter(adapter_factory, fake_api, redis_url)
    env = adapter.env
    fake_api.call(fake_api.api.add_update, update(1, f"/join {room}"))
    # The idle scope closes (its presence goes): from now on only the reach address remains.
    start_until_closed(adapter, fake_api, "You joined")

    web_says(env, room, "first while closed")
    expected = [f"[{room}] ana@web: first while closed"]
    until(
        lambda: [t for t in texts_to_chat(fake_api) if t.startswith("[")] == expected,
        what="the room message reached the closed chat",
        details=adapter.logs,
    )

    # The adapter restarts; a message posted while it is down waits in the channel layer.
    assert adapter.stop() == 0, adapter.logs()
    web_says(env, room, "while the adapter was down")
    adapter.start()
    web_says(env, room, "after the restart")
    expected += [
        f"[{room}] ana@web: while the adapter was down",
        f"[{room}] ana@web: after the restart",
    ]
    until(
        lambda: [t for t in texts_to_chat(fake_api) if t.startswith("[")] == expected,
        what="both messages reached the chat",
        details=lambda: f"{texts_to_chat(fake_api)}\n{adapter.logs()}",
    )
    # The chat writes again (a scope opens): its own message is not echoed, the room's next
    # one comes once, not also through the open scope.
    fake_api.call(fake_api.api.add_update, update(2, "hello room"))
    until(lambda: presences(env) == 1, what="the chat's scope reopened", details=adapter.logs)
    web_says(env, room, "welcome back")
    expected.append(f"[{room}] ana@web: welcome back")
    until(
        lambda: [t for t in texts_to_chat(fake_api) if t.startswith("[")] == expected,
        what="the message reached the open chat",
        details=adapter.logs,
    )
    time.sleep(1.5)  # a duplicate through the open scope would arrive within this
    assert [t for t in texts_to_chat(fake_api) if t.startswith("[")] == expected
    assert adapter.stop() == 0, adapter.logs()


def test_alerts_and_a_report_reach_the_chat_once_after_its_scope_closed(
    fake_api: FakeBotApiThread,
    adapter_factory: Callable[..., AdapterProcess],
    redis_url: str,
) -> None:
    room = f"alert-{uuid.uuid4().hex[:6]}"
    device_id = f"boiler-{uuid.uuid4().hex[:6]}"
    adapter = bot_adapter(adapter_factory, fake_api, redis_url)
    env = adapter.env
    reading(env, device_id, 20)  # the device exists and has a reading for the chart
    # /join only so that the scope's presence row shows when the scope closed.
    for number, text in enumerate(
        [f"/join {room}", f"/watch {device_id} temp > 30", f"/report {device_id} 1h"], 1
    ):
        fake_api.call(fake_api.api.add_update, update(number, text))
    start_until_closed(adapter, fake_api, "Working on the report")

    # No worker ran yet: the report is answered now, with the chat's scope gone.
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "worker", "--pool=solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=info"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        until(
            lambda: len(photos_to_chat(fake_api)) == 1,
            what="the report's chart reached the closed chat",
            details=adapter.logs,
        )
    finally:
        worker.terminate()
        worker.wait(30)
    [photo] = photos_to_chat(fake_api)
    assert photo["caption"].startswith(f"Device {device_id} (online), last 1h: 1 readings")
    assert photo["photo"]["size"] > 100  # the PNG upload

    def alerts() -> list[str]:
        return [t for t in texts_to_chat(fake_api) if t.startswith("Alert:")]

    reading(env, device_id, 31)
    expected = [f"Alert: {device_id} temp=31 (> 30)"]
    until(
        lambda: alerts() == expected,
        what="the alert reached the closed chat",
        details=lambda: f"{texts_to_chat(fake_api)}\n{adapter.logs()}",
    )

    # The chat writes again (a scope opens): the next alert comes once, not also through the
    # open scope's identity group.
    fake_api.call(fake_api.api.add_update, update(4, "/who"))
    until(lambda: presences(env) == 1, what="the chat's scope reopened", details=adapter.logs)
    reading(env, device_id, 2)
    reading(env, device_id, 35)
    expected.append(f"Alert: {device_id} temp=35 (> 30)")
    until(lambda: alerts() == expected, what="the alert reached the open chat")
    time.sleep(1.5)  # a duplicate through the open scope would arrive within this
    assert alerts() == expected
    assert len(photos_to_chat(fake_api)) == 1
    assert adapter.stop() == 0, adapter.logs()
