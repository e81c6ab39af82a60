"""MqttCommunicator: an mqtt scope tested without a broker, against raw ASGI apps, the
project's TopicRouter and DeviceConsumer (which records to the database and answers pings)."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.models import DeviceMessage
from consumers.routing import mqtt_topic_routes
from gateway.exceptions import ConfigurationError, RemoteProtocolError, UnexpectedMessage
from gateway.routing import TopicRouter
from gateway.testing import MqttCommunicator


class SpecRecorder:
    """An mqtt app that records its scope and events and publishes one message per event."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = dict(scope)
        await send({"type": "mqtt.subscribe", "topic": "commands/+/all", "qos": 1})
        while True:
            event = await receive()
            self.events.append(event)
            await send({"type": "mqtt.publish", "topic": "seen", "text": event["type"], "id": 7})
            if event["type"] == "mqtt.disconnect":
                return


async def test_scope_and_events_follow_the_spec() -> None:
    app = SpecRecorder()
    communicator = MqttCommunicator(
        app, "devices/42/telemetry", mqtt_version="3.1.1", captures={"device_id": "42"}
    )
    await communicator.connect()
    published = await communicator.receive_publish()
    assert published == {
        "topic": "seen",
        "payload": b"mqtt.connect",
        "qos": 0,
        "retain": False,
        "properties": {},
        "id": 7,
    }
    assert communicator.subscriptions == {"commands/+/all": 1}
    assert app.scope["type"] == "mqtt"
    assert app.scope["spec_version"] == app.scope["asgi"]["spec_version"] == "1.0"
    assert app.scope["mqtt_version"] == "3.1.1"
    assert app.scope["topic_route"]["kwargs"] == {"device_id": "42"}
    assert app.events[0] == {
        "type": "mqtt.connect",
        "topic": "devices/42/telemetry",
        "client_id": "gateway-test",
        "session_present": False,
    }
    # The publish was answered as the adapter does: the app's next event is its result.
    assert (await communicator.receive_publish())["payload"] == b"mqtt.publish.result"
    assert app.events[1] == {
        "type": "mqtt.publish.result",
        "id": 7,
        "topic": "seen",
        "mid": 1,
        "ok": True,
        "error": None,
    }
    await communicator.send_message("\u00e9t\u00e9", qos=2, properties={"content_type": "t"})
    await communicator.send_message(b"\xff\x00", topic="devices/42/raw")
    seen = [(await communicator.receive_publish())["payload"] for _ in range(3)]
    assert seen == [b"mqtt.publish.result", b"mqtt.message", b"mqtt.message"]
    text, binary = app.events[3], app.events[4]
    assert (text["payload"], text["text"]) == ("\u00e9t\u00e9".encode(), "\u00e9t\u00e9")
    assert (text["qos"], text["retain"], text["dup"]) == (2, False, False)
    assert text["properties"] == {"content_type": "t"}
    assert (binary["topic"], binary["payload"], binary["text"]) == (
        "devices/42/raw",
        b"\xff\x00",
        None,
    )
    await communicator.disconnect("idle")
    assert app.events[-1] == {"type": "mqtt.disconnect", "reason": "idle"}


@pytest.mark.django_db(transaction=True)
async def test_device_consumer_through_the_projects_topic_router() -> None:
    communicator = MqttCommunicator(TopicRouter(mqtt_topic_routes), "devices/d7/ping")
    await communicator.connect()
    await communicator.send_message(b"hello", qos=1)
    published = await communicator.receive_publish()
    assert published == {
        "topic": "devices/d7/pong",
        "payload": b"hello",
        "qos": 1,
        "retain": False,
        "properties": {},
        "id": None,
    }
    assert await communicator.receive_nothing()
    await communicator.disconnect("offline")
    stored = await DeviceMessage.objects.aget(device_id="d7")
    assert (stored.topic, stored.payload, stored.qos) == ("devices/d7/ping", "hello", 1)


async def failing_publisher(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "mqtt.publish", "topic": "alerts", "payload": b"x", "qos": 1})
    result = await receive()
    await send(
        {"type": "mqtt.publish", "topic": "log", "text": f"{result['ok']}:{result['error']}"}
    )
    await receive()


async def test_a_publish_can_be_answered_as_failed() -> None:
    communicator = MqttCommunicator(failing_publisher, "a/b", publish_results=False)
    await communicator.connect()
    publish = await communicator.receive_publish()
    await communicator.answer_publish(publish, ok=False, error="broker refused")
    assert (await communicator.receive_publish())["payload"] == b"False:broker refused"
    await communicator.disconnect("shutdown")


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"type": "mqtt.publish", "topic": "a/+"}, "no wildcards"),
        ({"type": "mqtt.publish", "topic": "a", "payload": "str"}, "payload must be bytes"),
        ({"type": "mqtt.publish", "topic": "a", "payload": b"", "text": ""}, "either payload"),
        ({"type": "mqtt.publish", "topic": "a", "qos": 3}, "qos must be 0, 1 or 2"),
        ({"type": "mqtt.subscribe", "topic": "a/#/b"}, "# must come last"),
    ],
)
async def test_messages_that_break_the_spec_are_refused(bad: dict[str, Any], error: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(bad)
        await receive()

    communicator = MqttCommunicator(app, "a")
    await communicator.connect()
    with pytest.raises(RemoteProtocolError, match=error):
        await communicator.receive_publish()
    communicator.stop()  # type: ignore[no-untyped-call]


async def test_another_message_type_is_an_assertion() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "?"})

    communicator = MqttCommunicator(app, "a")
    await communicator.connect()
    with pytest.raises(UnexpectedMessage, match=r"Expected type 'mqtt\.publish'"):
        await communicator.receive_publish()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="no wildcards"):
        MqttCommunicator(SpecRecorder(), "devices/+/x")
    with pytest.raises(ConfigurationError, match="mqtt_version"):
        MqttCommunicator(SpecRecorder(), "a", mqtt_version="4")
