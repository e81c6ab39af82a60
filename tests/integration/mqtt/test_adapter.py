"""The MQTT adapter in-process against the real Mosquitto, with paho clients as devices."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest

from gateway.mqtt.consumer import AsyncMqttConsumer
from gateway.mqtt.routing import TopicRouter, topic
from gateway.routing import ProtocolTypeRouter
from tests.integration.mqtt.conftest import running_adapter, until

pytestmark = pytest.mark.integration


class Recorder(AsyncMqttConsumer):
    """Records (device, text) per scope; a device named "slow" blocks until released."""

    seen: dict[str, list[str]] = defaultdict(list)
    scopes: list[str] = []
    events: list[tuple[str, ...]] = []
    release: asyncio.Event

    async def connect(self) -> None:
        self.scopes.append(self.kwargs["device"])

    async def message(self, event: dict[str, Any]) -> None:
        device = self.kwargs["device"]
        if device == "slow" and event["text"] == "first":
            await self.release.wait()
        if event["text"] == "ping":
            await self.publish(event["topic"].rsplit("/", 1)[0] + "/pong", b"pong", qos=1, id=1)
        if event["text"] == "bad-publish":
            try:
                await self.publish("nope/+/x", b"")
            except Exception as exc:
                self.events.append(("error", str(exc)))
        self.seen[device].append(event["text"] if event["text"] is not None else "<binary>")

    async def mqtt_publish_result(self, event: dict[str, Any]) -> None:
        self.events.append(("result", str(event["ok"])))

    async def disconnect(self, reason: str) -> None:
        self.events.append(("disconnect", self.kwargs["device"], reason))


def app(root: str) -> Any:
    Recorder.seen = defaultdict(list)
    Recorder.scopes = []
    Recorder.events = []
    Recorder.release = asyncio.Event()
    return ProtocolTypeRouter(
        {
            "mqtt": TopicRouter(
                [topic(root + "/{device}/#", Recorder, status=root + "/{device}/status")]
            )
        }
    )


def gateway_url(mqtt_url: str, root: str, extra: str = "") -> str:
    return f"{mqtt_url}?client_id={root}-gw&clean_start=1{extra}"


async def test_per_device_order(mqtt_url: str, root: str, devices: Any) -> None:
    # MQTT orders messages per QoS level (4.6), so each device publishes at one QoS.

    async with running_adapter(app(root), gateway_url(mqtt_url, root)):
        senders = [devices(f"{root}-d{i}") for i in range(5)]
        for n in range(60):
            for i, sender in enumerate(senders):
                sender.client.publish(f"{root}/d{i}/t", str(n), qos=i % 3)
        await until(lambda: sum(len(v) for v in Recorder.seen.values()) >= 300)
    for i in range(5):
        assert Recorder.seen[f"d{i}"] == [str(n) for n in range(60)]
    assert sorted(Recorder.scopes) == [f"d{i}" for i in range(5)]


async def test_200_devices_at_once(mqtt_url: str, root: str, devices: Any) -> None:
    async with running_adapter(app(root), gateway_url(mqtt_url, root)):
        sender = devices(f"{root}-many")
        for n in range(3):
            for i in range(200):
                sender.client.publish(f"{root}/dev{i}/t", f"{i}:{n}", qos=1)
        await until(lambda: sum(len(v) for v in Recorder.seen.values()) >= 600)
        assert len(Recorder.scopes) == 200
    assert all(Recorder.seen[f"dev{i}"] == [f"{i}:{n}" for n in range(3)] for i in range(200))


async def test_200_device_connections(mqtt_url: str, root: str, devices: Any) -> None:
    async with running_adapter(app(root), gateway_url(mqtt_url, root)):
        fleet = [devices(f"{root}-c{i}") for i in range(200)]
        for i, device in enumerate(fleet):
            device.client.publish(f"{root}/c{i}/t", "hello", qos=1)
        await until(lambda: len(Recorder.seen) >= 200)
    assert all(Recorder.seen[f"c{i}"] == ["hello"] for i in range(200))


async def test_slow_device_does_not_delay_others(mqtt_url: str, root: str, devices: Any) -> None:
    async with running_adapter(app(root), gateway_url(mqtt_url, root)):
        sender = devices(f"{root}-s")
        sender.publish(f"{root}/slow/t", "first")
        sender.publish(f"{root}/slow/t", "second")
        for n in range(20):
            for name in ("fast1", "fast2"):
                sender.client.publish(f"{root}/{name}/t", str(n), qos=1)
        await until(lambda: len(Recorder.seen["fast1"]) + len(Recorder.seen["fast2"]) == 40)
        # Every fast message was handled while the slow device's handler is still blocked.
        assert Recorder.seen["slow"] == []
        Recorder.release.set()
        await until(lambda: Recorder.seen["slow"] == ["first", "second"])


async def test_binary_publish_and_bad_topic(mqtt_url: str, root: str, devices: Any) -> None:
    async with running_adapter(app(root), gateway_url(mqtt_url, root)):
        sender = devices(f"{root}-b")
        sender.publish(f"{root}/b/t", b"\xff\xfe\x00")
        sender.publish(f"{root}/b/t", "ping")
        sender.publish(f"{root}/b/t", "bad-publish")
        await until(lambda: len(Recorder.seen["b"]) == 4)
        await until(lambda: ("result", "True") in Recorder.events)
    # The device also received its own pong through the route (devices/b/#).
    assert Recorder.seen["b"] == ["<binary>", "ping", "bad-publish", "pong"]
    errors = [event for event in Recorder.events if event[0] == "error"]
    assert errors and "must not contain the wildcards" in errors[0][1]


async def test_oversize_payload_dropped(mqtt_url: str, root: str, devices: Any) -> None:
    async with running_adapter(app(root), gateway_url(mqtt_url, root), max_payload=100):
        sender = devices(f"{root}-o")
        sender.publish(f"{root}/o/t", b"x" * 101)
        sender.publish(f"{root}/o/t", "small")
        await until(lambda: Recorder.seen["o"] == ["small"])


async def test_last_will_offline_closes_the_scope(mqtt_url: str, root: str, devices: Any) -> None:
    async with running_adapter(app(root), gateway_url(mqtt_url, root)):
        device = devices(f"{root}-w", will_topic=f"{root}/w/status")
        device.publish(f"{root}/w/t", "alive")
        await until(lambda: Recorder.seen["w"] == ["alive"])
        # Drop the TCP connection without DISCONNECT: the broker publishes the last will.
        device.client.loop_stop()
        device.client.socket().close()
        await until(lambda: ("disconnect", "w", "offline") in Recorder.events)
        assert Recorder.seen["w"] == ["alive", "offline"]


async def test_mqtt_311(mqtt_url: str, root: str, devices: Any) -> None:
    url = gateway_url(mqtt_url, root, "&protocol=3.1.1&receive_maximum=10")
    async with running_adapter(app(root), url):
        sender = devices(f"{root}-v3")
        for n in range(50):
            sender.client.publish(f"{root}/v3/t", str(n), qos=1)
        await until(lambda: len(Recorder.seen["v3"]) == 50)
    assert Recorder.seen["v3"] == [str(n) for n in range(50)]
