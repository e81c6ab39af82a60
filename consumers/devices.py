"""IoT device consumers: one instance per device, fed that device's messages in order."""

from __future__ import annotations

import logging
from typing import Any

from consumers.models import DeviceMessage
from gateway.db import database_sync_to_async
from gateway.mqtt.consumer import AsyncMqttConsumer

logger = logging.getLogger(__name__)


@database_sync_to_async
def record_message(device_id: str, topic: str, payload: str, qos: int) -> None:
    """Store one processed message."""
    DeviceMessage.objects.create(device_id=device_id, topic=topic, payload=payload, qos=qos)


class DeviceConsumer(AsyncMqttConsumer):
    """Records each telemetry message of one device; answers ``.../ping`` with ``.../pong``.

    Routed by ``topic("devices/{device_id}/#", ..., status="devices/{device_id}/status")``:
    the scope closes when the device's status (its last will) says "offline".
    """

    async def connect(self) -> None:
        self.device_id = self.kwargs.get("device_id", "")
        logger.debug("device %s: scope open", self.device_id)

    async def message(self, event: dict[str, Any]) -> None:
        topic = event["topic"]
        if topic.endswith("/status") or topic.endswith("/pong"):
            return
        text = event["text"] if event["text"] is not None else event["payload"].hex()
        await record_message(self.device_id, topic, text, event["qos"])
        if topic.endswith("/ping"):
            await self.publish(f"devices/{self.device_id}/pong", event["payload"], qos=1)

    async def disconnect(self, reason: str) -> None:
        logger.debug("device %s: scope closed (%s)", self.device_id, reason)
