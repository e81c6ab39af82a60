"""The people and processes of the end-to-end test, each real: a driver per protocol.

* :class:`Process`: a Procfile command (the Celery ``worker``, the ``watch`` runworker) as a
  subprocess with its log in a file;
* :class:`TelegramUser`: a person writing to the bot through the fake Bot API (updates in,
  ``sendMessage``/``sendPhoto`` calls out);
* :class:`MqttUser`: a paho client in a room's ``chat/R/in`` and ``chat/R/out``;
* :class:`Device`: a paho client as an IoT device (telemetry, commands, a last will);
* :class:`Station`: a packet operator connected to BOT-1 through Direwolf B (AGW), driven from
  synchronous tests by an event loop in a thread of its own;
* :class:`World`: all of them, plus the gateway process and the browser.

Every wait is on an event with a deadline (:func:`until`, selenium's waits): no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.ax25.agw_operator import AgwOperator, Session
from tests.integration.ax25.direwolf import DirewolfPair
from tests.integration.telegram.conftest import until
from tests.integration.telegram.fakeapi import FakeBotApiThread
from tests.integration.web.server import ROOT, WebServer

T = TypeVar("T")

#: Seconds any one thing may take to happen before the test fails (a guard, not a timer).
DEADLINE = 30.0


class Process:
    """A command run as a subprocess of its own group, its output in ``log``."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own group: kill() takes its children too (Celery's pool and beat).
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = DEADLINE) -> None:
        """Wait until the process logged ``text``; fail (with its log) if it exits first."""

        def seen() -> bool:
            if self.process.poll() is not None and text not in self.output:
                raise AssertionError(f"{self.name} exited before logging {text!r}:\n{self.output}")
            return text in self.output

        until(seen, timeout, f"{self.name} logging {text!r}", lambda: self.output)

    def terminate(self, timeout: float = DEADLINE) -> int:
        """SIGTERM, as the platform sends it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the process and everything it started (cleanup after a failure)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


class TelegramUser:
    """One Telegram user in a private chat with the bot (chat id = user id)."""

    #: update_id must grow across every user of one fake Bot API.
    _update_ids = itertools.count(1)

    def __init__(self, api: FakeBotApiThread, user_id: int, name: str) -> None:
        self.api = api
        self.user_id = user_id
        self.name = name

    def say(self, text: str) -> None:
        user = {"id": self.user_id, "is_bot": False, "first_name": self.name, "username": self.name}
        update_id = next(self._update_ids)
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": self.user_id, "type": "private", "first_name": self.name},
                "from": user,
                "text": text,
            },
        }
        self.api.call(self.api.api.add_update, update)

    def _calls(self, method: str) -> list[dict[str, Any]]:
        calls = self.api.call(lambda: list(self.api.api.calls))
        return [
            call.params
            for call in calls
            if call.method == method
            and call.status == 200
            and str(call.params.get("chat_id")) == str(self.user_id)
        ]

    def texts(self) -> list[str]:
        """What the bot sent this user: messages' texts and photos' captions."""
        return [str(p["text"]) for p in self._calls("sendMessage")] + self.captions()

    def captions(self) -> list[str]:
        """The captions of the photos the bot sent (reports)."""
        return [str(p.get("caption", "")) for p in self._calls("sendPhoto")]

    def wait_for(self, text: str, timeout: float = DEADLINE) -> str:
        """Wait for a message (or caption) containing ``text``; return it."""
        found: list[str] = []

        def seen() -> bool:
            found[:] = [t for t in self.texts() if text in t]
            return bool(found)

        until(seen, timeout, f"telegram {self.name} receiving {text!r}", lambda: str(self.texts()))
        return found[0]


def subscribed_client(
    url: str, client_id: str, topic: str, on_message: Any, will: str | None = None
) -> mqtt.Client:
    """A paho client (its own network thread) subscribed to ``topic`` once this returns;
    ``will``: a topic for its last will, "offline"."""
    parts = urlsplit(url)
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if will is not None:
        client.will_set(will, b"offline", qos=1)
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    client.subscribe(topic, qos=1)
    if not subscribed.wait(DEADLINE):
        raise AssertionError(f"the broker did not confirm {client_id}'s subscription to {topic}")
    return client


class MqttUser:
    """A paho client chatting in one room: JSON in on ``chat/R/in``, all of R on ``chat/R/out``."""

    def __init__(self, url: str, name: str, room: str) -> None:
        self.name = name
        self.room = room
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.client = subscribed_client(url, f"e2e-{name}", f"chat/{room}/out", self._on_message)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append(json.loads(message.payload))

    def say(self, text: str) -> None:
        payload = json.dumps({"from": self.name, "text": text})
        self.client.publish(f"chat/{self.room}/in", payload, qos=1).wait_for_publish(DEADLINE)

    def wait_for(self, **fields: str) -> dict[str, Any]:
        """Wait for a message on chat/R/out with these fields; return it."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            with self._lock:
                found[:] = [m for m in self.received if fields.items() <= m.items()]
            return bool(found)

        until(seen, DEADLINE, f"mqtt {self.name} receiving {fields}", lambda: str(self.received))
        return found[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Device:
    """An IoT device: telemetry out, commands in on devices/ID/cmd, a last will on its status."""

    def __init__(self, url: str, device_id: str) -> None:
        self.device_id = device_id
        self.commands: list[Any] = []
        self.client = subscribed_client(
            url,
            device_id,
            f"devices/{device_id}/cmd",
            lambda client, userdata, message: self.commands.append(json.loads(message.payload)),
            will=f"devices/{device_id}/status",
        )

    def report(self, **readings: Any) -> None:
        topic = f"devices/{self.device_id}/telemetry"
        self.client.publish(topic, json.dumps(readings), qos=1).wait_for_publish(DEADLINE)

    def lose_connection(self) -> None:
        """Drop the TCP connection without DISCONNECT: the broker publishes the last will."""
        self.client.loop_stop()
        self.client.socket().close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Station:
    """A packet operator (``mine``) connected to ``bot`` through Direwolf B's AGW port.

    AgwOperator is asyncio; it runs on a loop in a thread of its own so that the synchronous
    tests (selenium, paho) can drive it.
    """

    def __init__(self, agw_port: int, mine: str, bot: str) -> None:
        self.mine = mine
        self.bot = bot
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.agw: AgwOperator = self._run(AgwOperator.open(agw_port))
        self._run(self.agw.register(mine))
        self.session: Session = self._run(self._connect())

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = DEADLINE) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _connect(self) -> Session:
        session = self.agw.connect(self.mine, self.bot)
        await asyncio.wait_for(session.connected.wait(), DEADLINE)
        await self.agw.wait_for_data(session, f"{self.bot}>\r".encode(), DEADLINE)
        return session

    def say(self, line: str) -> None:
        """Type a line (CR-terminated, as a terminal sends it)."""

        async def send() -> None:
            self.agw.send(self.mine, self.bot, line.encode() + b"\r")

        self._run(send())

    def wait_for(self, text: str, timeout: float = DEADLINE) -> None:
        self._run(self.agw.wait_for_data(self.session, text.encode(), timeout), timeout + 5)

    def wait_disconnected(self, timeout: float = DEADLINE) -> None:
        self._run(asyncio.wait_for(self.session.disconnected.wait(), timeout), timeout + 5)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self.agw.aclose(), 5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@dataclass
class World:
    """Everything the test talks to; built once per module by conftest.py's ``world``."""

    env: dict[str, str]
    gateway: WebServer
    worker: Process
    watch: Process
    telegram: FakeBotApiThread
    mqtt_url: str
    direwolf: DirewolfPair
    station: Station
    browser: WebDriver
    directory: Path
    redis_prefix: str
