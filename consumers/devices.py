"""IoT device consumers: one instance per device, fed that device's messages in order.

What a device sends is checked against the model before it is stored: a device id that is
empty or longer than ``DeviceMessage.device_id`` holds, or a topic longer than
``DeviceMessage.topic`` holds, is refused with one WARNING and acknowledged (the handler does not
fail, so the broker does not redeliver it for ever). Text payloads are stored as text, binary
ones as bytes (``DeviceMessage.data``).
"""

from __future__ import annotations

import logging
from typing import Any

from consumers.models import DeviceMessage
from gateway.db import database_sync_to_async
from gateway.mqtt.consumer import AsyncMqttConsumer

logger = logging.getLogger(__name__)

DEVICE_ID_MAX = DeviceMessage._meta.get_field("device_id").max_length or 200
TOPIC_MAX = DeviceMessage._meta.get_field("topic").max_length or 1024


def refusal(device_id: str, topic: str) -> str | None:
    """Why a message cannot be stored for this device id and topic, or None when it can."""
    if not device_id:
        return "its device id is empty"
    if len(device_id) > DEVICE_ID_MAX:
        return f"its device id has {len(device_id)} characters (at most {DEVICE_ID_MAX})"
    if len(topic) > TOPIC_MAX:
        return f"its topic has {len(topic)} characters (at most {TOPIC_MAX})"
    return None


@database_sync_to_async
def record_message(device_id: str, topic: str, text: str | None, payload: bytes, qos: int) -> None:
    """Store one processed message: text as text, anything else as bytes."""
    DeviceMessage.objects.create(
        device_id=device_id,
        topic=topic,
        payload=text if text is not None else "",
        data=None if text is not None else payload,
        qos=qos,
    )


class DeviceConsumer(AsyncMqttConsumer):
    """Records each telemetry message of one device; answers ``.../ping`` with ``.../pong``.

    Routed by ``topic("devices/{device_id}/#", ..., status="devices/{device_id}/status")``:
    the scope closes when the device's status (its last will) says "offline".
    """

    async def connect(self) -> None:
        self.device_id = self.kwargs.get("device_id", "")
        logger.debug("device %s: scope open", self.device_id[:DEVICE_ID_MAX])

    async def message(self, event: dict[str, Any]) -> None:
        topic = event["topic"]
        if topic.endswith("/status") or topic.endswith("/pong"):
            return
        why = refusal(self.device_id, topic)
        if why is not None:
            # Shown shortened: the topic is whatever a client sent.
            logger.warning(
                "ignored a message on %r: %s; acknowledged and not stored", topic[:120], why
            )
            return
        await record_message(self.device_id, topic, event["text"], event["payload"], event["qos"])
        if topic.endswith("/ping"):
            await self.publish(f"devices/{self.device_id}/pong", event["payload"], qos=1)

    async def disconnect(self, reason: str) -> None:
        logger.debug("device %s: scope closed (%s)", self.device_id[:DEVICE_ID_MAX], reason)
