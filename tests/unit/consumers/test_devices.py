"""consumers.devices: device ids and topics checked against the model (one WARNING, no failure),
binary telemetry stored as bytes, through the project's TopicRouter."""

from __future__ import annotations

import logging

import pytest

from consumers.devices import DEVICE_ID_MAX
from consumers.models import DeviceMessage
from consumers.routing import mqtt_topic_routes
from gateway.routing import TopicRouter
from gateway.testing import MqttCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


async def delivered(topic: str, payload: bytes) -> MqttCommunicator:
    communicator = MqttCommunicator(TopicRouter(mqtt_topic_routes), topic)
    await communicator.connect()
    await communicator.send_message(payload, qos=1)
    assert await communicator.receive_nothing()  # handled without an error
    return communicator


async def test_binary_telemetry_is_stored_as_bytes_and_text_as_text() -> None:
    binary = bytes(range(256))
    communicator = await delivered("devices/b1/telemetry", binary)
    await communicator.send_message(b"21.5", qos=1)
    assert await communicator.receive_nothing()
    await communicator.disconnect("offline")
    rows = [row async for row in DeviceMessage.objects.filter(device_id="b1")]
    assert [(bytes(row.data) if row.data is not None else None, row.payload) for row in rows] == [
        (binary, ""),
        (None, "21.5"),
    ]


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("devices//telemetry", "device id is empty"),
        (f"devices/{'x' * (DEVICE_ID_MAX + 100)}/telemetry", "device id has 300 characters"),
        (f"devices/d1/{'t/' * 600}x", "topic has 1212 characters"),
    ],
)
async def test_a_device_id_or_topic_the_model_cannot_hold_is_warned_once_and_not_stored(
    caplog: pytest.LogCaptureFixture, topic: str, reason: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="consumers.devices"):
        communicator = await delivered(topic, b"1")
        await communicator.disconnect("offline")
    [line] = [r.getMessage() for r in caplog.records if r.name == "consumers.devices"]
    assert reason in line and "acknowledged and not stored" in line
    assert await DeviceMessage.objects.acount() == 0
