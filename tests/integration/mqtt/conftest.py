"""MQTT integration fixtures: unique topic roots, paho devices, the adapter in-process or as
a ``manage.py runadapter mqtt`` subprocess, and a private Mosquitto for restart tests."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest

from adapters.mqtt.adapter import MqttAdapter
from adapters.mqtt.config import parse_url
from tests.conftest import missing

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def root() -> str:
    """A topic root no other test (or engineer) uses."""
    return f"it-{uuid.uuid4().hex[:12]}"


class Device:
    """A paho client playing an IoT device (its own network thread)."""

    def __init__(self, url: str, client_id: str, will_topic: str | None = None) -> None:
        parts = urlsplit(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if will_topic:
            self.client.will_set(will_topic, b"offline", qos=1)
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()

    def publish(self, topic: str, payload: str | bytes, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def devices(mqtt_url: str) -> Iterator[Any]:
    """Make devices with ``devices(client_id)``; all are disconnected at the end."""
    made: list[Device] = []

    def make(client_id: str, url: str = mqtt_url, will_topic: str | None = None) -> Device:
        device = Device(url, client_id, will_topic)
        made.append(device)
        return device

    yield make
    for device in made:
        with contextlib.suppress(Exception):
            device.close()


async def until(condition: Any, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_adapter(application: Any, url: str, **options: Any) -> AsyncIterator[Any]:
    """Run MqttAdapter.serve in this event loop until the block ends."""
    adapter = MqttAdapter(parse_url(url).with_options(**options), shutdown_timeout=5.0)
    stop = asyncio.Event()
    task = asyncio.create_task(adapter.serve(application, stop))
    await until(lambda: task.done() or (adapter.driver and adapter.driver.ready.is_set()))
    if task.done():
        task.result()
    try:
        yield adapter
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    """A private broker on a free port with persistence, for restart tests."""

    def __init__(self, directory: Path, listener: str = "allow_anonymous true\n") -> None:
        self.port = free_port()
        self.directory = directory
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            # Run as ourselves: Mosquitto started as root drops to user "mosquitto", which
            # could not read our temporary directory (persistence, TLS keys).
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\n{listener}persistence true\n"
            f"persistence_location {directory}/\nautosave_interval 1\n"
            "max_inflight_messages 100\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("mosquitto") or "mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("private mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_broker(tmp_path: Path, mqtt_url: str) -> Iterator[Mosquitto]:
    """Our own Mosquitto (never restart the shared one); needs the mosquitto binary."""
    if shutil.which("mosquitto") is None:
        missing("mosquitto is not installed: run `make services` (it apt-gets it)")
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


class AdapterProcess:
    """``manage.py runadapter mqtt`` in a subprocess, on a file-based SQLite database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runadapter", "mqtt"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def adapter_env(tmp_path: Path, mqtt_url: str, root: str) -> dict[str, str]:
    """Environment for adapter subprocesses: migrated SQLite, the test app, our topic root."""
    env = dict(os.environ)
    env.update(
        DEBUG="1",
        SECRET_KEY="test-only",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ASGI_APPLICATION="tests.integration.mqtt.app.application",
        MQTT_TEST_ROOT=root,
        MQTT_STATE_DIR=str(tmp_path / "state"),
        PYTHONPATH=str(REPO),
        GATEWAY_SHUTDOWN_TIMEOUT="5",
        LOG_LEVEL="INFO",
    )
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    return env


@pytest.fixture
def adapter_processes(adapter_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Make adapter subprocesses with ``adapter_processes(mqtt_url)``; all stopped at the end."""
    made: list[AdapterProcess] = []

    def make(url: str, **extra: str) -> AdapterProcess:
        env = {**adapter_env, "MQTT_URL": url, **extra}
        process = AdapterProcess(env, tmp_path / f"adapter-{len(made)}.log")
        made.append(process)
        return process

    yield make
    for process in made:
        process.terminate()
