"""What Heroku does with this app, on this machine: a fresh Postgres database and Redis from the
add-ons, the build's collectstatic, the `release` phase, two `web` dynos sharing the Redis
layer, the `worker`, the `watch` runworker, and the `mqtt`, `telegram` and `radio` dynos, then
SIGTERM to all of them.

Production settings throughout (DEBUG off): requests arrive as Heroku's router sends them, with
`X-Forwarded-Proto: https` and the app's own host name, which dyno metadata provides.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis.asyncio
from celery import Celery
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.integration.deploy.heroku import Dyno, dyno_environment, procfile, run_once
from tests.integration.telegram.fakeapi import TOKEN as TELEGRAM_TOKEN
from tests.integration.telegram.fakeapi import FakeBotApi

pytestmark = pytest.mark.integration

HOST = "gw-deploy-test-1a2b3c4d5e6f.herokuapp.com"
OTHER_APP = "https://someone-elses-app-0f9e8d7c6b5a.herokuapp.com"
TOKEN = uuid.uuid4().hex
LISTENING = re.compile(r"web: listening on http://127\.0\.0\.1:(\d+)")
TEST_TASKS = "tests.integration.deploy.tasks"


def request(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": HOST, **headers})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def router(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A request as Heroku's router forwards an https:// one."""
    return request(port, path, **{"X-Forwarded-Proto": "https", **headers})


def chat(port: int, origin: str = f"https://{HOST}") -> Any:
    return connect(f"ws://127.0.0.1:{port}/ws/chat/", origin=origin, compression=None)  # type: ignore[arg-type]


async def receive_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=15))


@pytest.fixture
async def dynos() -> AsyncIterator[list[Dyno]]:
    """Processes the test starts; any still running at the end is killed."""
    started: list[Dyno] = []
    yield started
    for dyno in started:
        dyno.kill()
        await dyno.process.wait()


async def test_release_two_web_dynos_a_worker_mqtt_telegram_and_radio_then_sigterm(
    postgres_url: str,
    redis_url: str,
    mqtt_url: str,
    redis_prefix: str,
    tmp_path: Path,
    dynos: list[Dyno],
) -> None:
    processes = procfile()
    env = dyno_environment(
        # What the add-ons and app.json set.
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        SECRET_KEY=uuid.uuid4().hex * 2,
        METRICS_TOKEN=TOKEN,
        BOT_WATCH_CHANNEL="bot-watch",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        # Dyno metadata; the key prefix keeps this test apart from others on the shared Redis.
        HEROKU_APP_DEFAULT_DOMAIN_NAME=HOST,
        REDIS_KEY_PREFIX=redis_prefix,
        STATIC_ROOT=str(tmp_path / "staticfiles"),
        WEB_HOST="127.0.0.1",
        PORT="0",
    )

    # The build runs collectstatic; the release phase migrates the add-on's database.
    status, output = await run_once(
        "build", ["python", "manage.py", "collectstatic", "--noinput"], env
    )
    assert status == 0, output
    status, output = await run_once("release", processes["release"], env)
    assert status == 0, output
    with psycopg.connect(postgres_url) as database:
        row = database.execute("SELECT count(*) FROM django_migrations").fetchone()
    assert row is not None and row[0] > 0

    ports = []
    for number in (1, 2):
        web = await Dyno.start(f"web.{number}", processes["web"], env | {"DYNO": f"web.{number}"})
        dynos.append(web)
        found = LISTENING.search(await web.wait_for("web: listening on"))
        assert found, web.output
        ports.append(int(found.group(1)))
    worker = await Dyno.start("worker.1", [*processes["worker"], "-I", TEST_TASKS], env)
    dynos.append(worker)
    await worker.wait_for(" ready.")
    watch = await Dyno.start("watch.1", processes["watch"], env)
    dynos.append(watch)
    await watch.wait_for("worker: listening on bot-watch")
    # The MQTT client id comes from the dyno's name, which survives restarts.
    dyno_name = f"mqtt.{uuid.uuid4().int % 10**6}"  # unique on the shared broker
    mqtt_env = env | {"DYNO": dyno_name, "MQTT_URL": mqtt_url, "MQTT_SESSION_EXPIRY": "0"}
    mqtt = await Dyno.start(dyno_name, processes["mqtt"], mqtt_env)
    dynos.append(mqtt)
    connected = await mqtt.wait_for("connected to MQTT broker")
    assert f"as 'gateway-{dyno_name.replace('.', '-')}'" in connected
    # The telegram dyno polls a fake Bot API on loopback (Telegram is out of reach here); the
    # radio dyno talks KISS to a TNC reachable over TCP (a bare KISS listener stands in).
    bot_api = FakeBotApi()
    await bot_api.start()
    telegram = await Dyno.start(
        "telegram.1",
        processes["telegram"],
        env
        | {
            "DYNO": "telegram.1",
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_URL": bot_api.url,
            "TELEGRAM_POLL_TIMEOUT": "1",
        },
    )
    dynos.append(telegram)
    tnc_connections: list[asyncio.StreamWriter] = []

    async def tnc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tnc_connections.append(writer)

    kiss_server = await asyncio.start_server(tnc, "127.0.0.1", 0)
    kiss_port = kiss_server.sockets[0].getsockname()[1]
    radio = await Dyno.start(
        "radio.1",
        processes["radio"],
        env
        | {
            "DYNO": "radio.1",
            "AX25_TNC": f"tcp://127.0.0.1:{kiss_port}",
            "AX25_CALLSIGN": "N0CALL-9",
            "AX25_STATE_DIR": str(tmp_path / "ax25"),
        },
    )
    dynos.append(radio)
    await radio.wait_for("connected to KISS TNC")
    for _ in range(600):  # the telegram dyno is up once it long-polls (bounded by the timeout)
        if any(call.method == "getUpdates" for call in bot_api.calls):
            break
        await asyncio.sleep(0.05)
    assert any(call.method == "getUpdates" for call in bot_api.calls), telegram.output

    # HTTPS as Heroku's router forwards it: the chat page, with HSTS; plain HTTP is redirected.
    status, headers, body = await asyncio.to_thread(router, ports[0], "/")
    assert status == 200, body
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    status, headers, _ = await asyncio.to_thread(request, ports[0], "/")
    assert (status, headers["location"]) == (301, f"https://{HOST}/")
    assert (await asyncio.to_thread(request, ports[1], "/healthz"))[0] == 200
    assert (await asyncio.to_thread(router, ports[0], "/", Host=OTHER_APP[8:]))[0] == 400
    # /metrics only for the bearer token.
    assert (await asyncio.to_thread(router, ports[1], "/metrics"))[0] == 401
    status, _, body = await asyncio.to_thread(
        router, ports[1], "/metrics", Authorization=f"Bearer {TOKEN}"
    )
    assert status == 200
    assert b"gateway_" in body

    # A chat message sent to one web dyno reaches a client of the other through Redis.
    room = f"deploy-{uuid.uuid4().hex[:8]}"
    async with chat(ports[0]) as ana, chat(ports[1]) as bob:
        for ws, nick in ((ana, "ana"), (bob, "bob")):
            await ws.send(json.dumps({"type": "join", "room": room, "nick": nick}))
            assert await receive_json(ws) == {"type": "joined", "room": room, "nick": nick}
            # The bot follows a join with the room's history and who is there.
            assert (await receive_json(ws))["type"] == "history"
            assert (await receive_json(ws))["type"] == "who"
        await ana.send(json.dumps({"type": "send", "text": "hello from web.1"}))
        message = await receive_json(bob)
        assert (message["type"], message["sender"], message["text"]) == (
            "message",
            "ana",
            "hello from web.1",
        )
    # Another Heroku app's page may not open a WebSocket here.
    with pytest.raises(InvalidStatus) as refused:
        async with chat(ports[0], origin=OTHER_APP):
            pass
    assert refused.value.response.status_code == 403

    # The worker consumes from the Redis broker and reaches the database.
    client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=60)
    reply_to = f"{redis_prefix}reply"
    sender = Celery(broker=redis_url, broker_transport_options={"global_keyprefix": redis_prefix})
    try:
        await asyncio.to_thread(
            sender.send_task, "tests.deploy.report_migrations", args=[reply_to, "t1"]
        )
        answer = await client.blpop([reply_to], timeout=30)
    finally:
        await client.aclose()
        sender.close()
    assert answer is not None, f"no answer from the worker:\n{worker.output}"
    assert answer[1].decode() == f"t1 {row[0]}"

    # SIGTERM to every dyno, as on a restart: each exits cleanly.
    statuses = await asyncio.gather(*(dyno.sigterm() for dyno in dynos))
    for dyno, status in zip(dynos, statuses):
        assert status == 0, f"{dyno.name} exited with {status}:\n{dyno.output}"
    for web in dynos[:2]:
        assert "runadapter: stopped cleanly" in web.output
    assert "Traceback" not in worker.output + mqtt.output + telegram.output + radio.output
    assert "worker: stopped" in watch.output and "Traceback" not in watch.output
    kiss_server.close()
    for writer in tnc_connections:
        writer.close()
    await bot_api.stop()
