"""The world of the end-to-end test, built once per module with every part real.

Mosquitto (a private broker), the fake Bot API, two Direwolf instances that hear each other,
Redis (a key prefix of its own), one SQLite database shared by three processes: the gateway
(``runadapter web mqtt telegram ax25``), the Procfile's Celery ``worker`` and its ``watch``
runworker. Then a packet operator connected to BOT-1 and headless Chromium.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.test_web_pages import chromium
from tests.conftest import service_answers
from tests.integration.ax25.conftest import new_run_dir
from tests.integration.ax25.direwolf import DirewolfPair, installed
from tests.integration.bot.world import DEADLINE, Process, Station, World, subscribed_client
from tests.integration.deploy.conftest import delete_prefixed
from tests.integration.deploy.heroku import dyno_environment, procfile
from tests.integration.mqtt.conftest import Mosquitto
from tests.integration.telegram.conftest import until
from tests.integration.telegram.fakeapi import TOKEN, FakeBotApiThread
from tests.integration.web.server import ROOT, WebServer

#: The web user who may /set: staff (to log in) with the permission, not a superuser.
OPERATOR = "operator"
OPERATOR_PASSWORD = "e2e-operator-password"
BOT = "BOT-1"
STATION = "N0CALL-7"

CREATE_OPERATOR = f"""
from django.contrib.auth.models import Permission, User
user = User.objects.create_user({OPERATOR!r}, password={OPERATOR_PASSWORD!r}, is_staff=True)
user.user_permissions.add(Permission.objects.get(codename="control_device"))
"""


def world_environment(
    directory: Path, redis_url: str, prefix: str, mqtt_url: str, api_url: str, kiss_port: int
) -> dict[str, str]:
    """The settings every process of the world reads, as a deployment sets them."""
    return dyno_environment(
        DEBUG="1",
        SECRET_KEY="end-to-end-test-key",
        ASGI_APPLICATION="project.asgi.application",
        DATABASE_URL=f"sqlite:///{directory / 'world.sqlite3'}",
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=prefix,
        LOG_LEVEL="INFO",
        GATEWAY_SHUTDOWN_TIMEOUT="5",
        CELERY_WORKER_CONCURRENCY="1",
        # Tests type faster than people: the flood controls are tested on their own.
        BOT_FLOOD_LIMIT="1000",
        CHAT_RATE_LIMIT="1000/1",
        BOT_WATCH_CHANNEL="bot-watch",
        MQTT_URL=mqtt_url,
        MQTT_CLIENT_ID=f"e2e-gateway-{uuid.uuid4().hex[:8]}",
        MQTT_SESSION_EXPIRY="0",
        MQTT_STATE_DIR=str(directory / "mqtt"),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        TELEGRAM_POLL_TIMEOUT="2",
        TELEGRAM_RATE_PER_CHAT="50",
        TELEGRAM_RATE_OVERALL="100",
        AX25_TNC=f"tcp://127.0.0.1:{kiss_port}",
        AX25_CALLSIGN=BOT,
        AX25_STATE_DIR=str(directory / "ax25"),
        # 9600 baud carries about 1200 bytes/s: pace at the channel's own limit.
        AX25_BYTES_PER_SECOND="1200",
        AX25_PACLEN="256",
        AX25_T2="0.3",
    )


def worker_command(directory: Path) -> list[str]:
    """The Procfile's worker, its beat schedule file in our directory (not the shared /tmp)."""
    return [
        f"--schedule={directory / 'celerybeat-schedule'}" if arg.startswith("--schedule=") else arg
        for arg in procfile()["worker"]
    ]


def wait_for_mqtt_routes(url: str) -> None:
    """Ping a device topic until the gateway's DeviceConsumer answers: its subscriptions are
    in place (the broker confirmed them) and messages reach the consumers."""
    answered: list[bytes] = []
    client = subscribed_client(
        url, "e2e-probe", "devices/e2e-probe/pong", lambda c, u, m: answered.append(m.payload)
    )
    try:

        def pong() -> bool:
            if not answered:
                client.publish("devices/e2e-probe/ping", b"probe", qos=1).wait_for_publish(5)
            return bool(answered)

        until(pong, DEADLINE, "the gateway answering devices/e2e-probe/ping")
    finally:
        client.disconnect()
        client.loop_stop()


def require_everything() -> str:
    """Fail (never skip) when a part of the world is missing, saying how to get it; the
    Redis URL (TEST_REDIS_URL, default redis://127.0.0.1:6379/0)."""
    redis_url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(redis_url)
    missing = [
        message
        for absent, message in (
            (not installed(), "direwolf (scripts/services.sh or apt-get install direwolf)"),
            (shutil.which("mosquitto") is None, "mosquitto (`make services` apt-gets it)"),
            (
                not (
                    (shutil.which("chromium") or shutil.which("chromium-browser"))
                    and shutil.which("chromedriver")
                ),
                "chromium and chromedriver (`make test` apt-gets them)",
            ),
            (
                not service_answers(parts.hostname or "127.0.0.1", parts.port or 6379),
                f"a Redis server answering on {redis_url} (`make services` starts one)",
            ),
        )
        if absent
    ]
    if missing:
        pytest.fail("the end-to-end test needs " + "; ".join(missing))
    return redis_url


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    redis_url = require_everything()
    directory = Path(tempfile.mkdtemp(prefix="e2e-"))
    prefix = f"e2e-{uuid.uuid4().hex[:10]}:"
    with contextlib.ExitStack() as stack:
        broker = Mosquitto(directory)
        broker.start()
        stack.callback(broker.stop)
        api = stack.enter_context(FakeBotApiThread())
        air = new_run_dir()
        stack.callback(shutil.rmtree, air, ignore_errors=True)
        direwolf = DirewolfPair.start(air, baud=9600)
        stack.callback(direwolf.stop)
        env = world_environment(
            directory, redis_url, prefix, broker.url, api.url, direwolf.a.kiss_port
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", CREATE_OPERATOR],
            cwd=ROOT,
            env=env,
            check=True,
        )
        worker = Process("worker", worker_command(directory), env, directory / "worker.log")
        stack.callback(worker.kill)
        watch = Process("watch", procfile()["watch"], env, directory / "watch.log")
        stack.callback(watch.kill)
        gateway = WebServer("mqtt", "telegram", "ax25", **env)
        stack.callback(gateway.stop)
        for ready in ("connected to MQTT broker", "serving in polling mode", "connected to KISS"):
            until(lambda r=ready: r in gateway.output, DEADLINE, ready, lambda: gateway.output)
        wait_for_mqtt_routes(broker.url)
        browser = stack.enter_context(chromium())
        station = Station(direwolf.b.agw_port, STATION, BOT)
        stack.callback(station.close)
        worker.wait_for(" ready.")
        watch.wait_for("worker: listening on bot-watch")
        yield World(
            env=env,
            gateway=gateway,
            worker=worker,
            watch=watch,
            telegram=api,
            mqtt_url=broker.url,
            direwolf=direwolf,
            station=station,
            browser=browser,
            directory=directory,
            redis_prefix=prefix,
        )
    delete_prefixed(redis_url, prefix)
    shutil.rmtree(directory, ignore_errors=True)
