"""IoT device consumers: one instance per device, fed that device's messages in order.

``devices/{id}/telemetry`` (a JSON object of readings) is stored (the /status page shows it
within its 2-second refresh) and checked against /watch thresholds; ``/set`` from any protocol
arrives here as ``device.command`` and is published on ``devices/{id}/cmd``; the device's
status "offline" (its last will) marks it offline and tells its watchers.

What a device sends is checked against the model before it is stored: a device id that is
empty or longer than ``DeviceMessage.device_id`` holds, or a topic longer than
``DeviceMessage.topic`` holds, is refused with one WARNING and acknowledged (the handler does not
fail, so the broker does not redeliver it for ever). Text payloads are stored as text, binary
ones as bytes (``DeviceMessage.data``).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, ClassVar

from django.conf import settings

from consumers.bot import store
from consumers.bot.groups import device_group
from consumers.models import DeviceMessage
from consumers.tasks import send_alerts
from consumers.watch_worker import WATCH_CHECK
from gateway.db import database_sync_to_async
from gateway.exceptions import ChannelFull
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


@database_sync_to_async
def record_telemetry(device_id: str, data: dict[str, Any], now: float) -> bool:
    """Store a reading (the status page reads it from there); whether the device was offline.

    Without BOT_WATCH_CHANNEL the watches are evaluated here too, and their alerts sent.
    """
    was_offline = store.store_reading(device_id, data, now)
    if not settings.BOT_WATCH_CHANNEL:
        send_alerts(store.evaluate_watches(device_id, data, was_offline))
    return was_offline


@database_sync_to_async
def went_offline(device_id: str, reason: str) -> None:
    """Mark the device offline and tell its watchers."""
    send_alerts(store.mark_offline(device_id, reason))


class DeviceConsumer(AsyncMqttConsumer):
    """One device: telemetry stored and watched, commands published, ping answered.

    Routed by ``topic("devices/{device_id}/#", ..., status="devices/{device_id}/status")``:
    the scope closes when the device's status (its last will) says "offline".
    """

    #: Whether the last watch check found BOT_WATCH_CHANNEL full (one WARNING per outage).
    watch_channel_full: ClassVar[bool] = False

    async def connect(self) -> None:
        self.device_id = self.kwargs.get("device_id", "")
        await self.channel_layer.group_add(device_group(self.device_id), self.channel_name)
        logger.debug("device %s: scope open", self.device_id[:DEVICE_ID_MAX])

    async def message(self, event: dict[str, Any]) -> None:
        topic = event["topic"]
        if topic.endswith("/status") or topic.endswith("/pong") or topic.endswith("/cmd"):
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
        elif topic.endswith("/telemetry"):
            await self.telemetry(event["text"])

    async def telemetry(self, text: str | None) -> None:
        """A reading: a JSON object of key -> value."""
        try:
            data = json.loads(text) if text is not None else None
        except ValueError:
            data = None
        if not isinstance(data, dict) or not data:
            logger.warning(
                "device %s: telemetry is not a JSON object of readings (%r): ignored; send "
                'e.g. {"temp": 21.5}',
                self.device_id,
                (text or "")[:80],
            )
            return
        was_offline = await record_telemetry(self.device_id, data, time.time())
        if settings.BOT_WATCH_CHANNEL:
            # The watch worker (runworker) evaluates the watches: the MQTT
            # acknowledgement waits for one insert and one channel send, not for every watcher.
            check = {
                "type": WATCH_CHECK,
                "device_id": self.device_id,
                "data": data,
                "was_offline": was_offline,
            }
            try:
                await self.channel_layer.send(settings.BOT_WATCH_CHANNEL, check)
            except ChannelFull:
                # Nobody reads the channel. The reading is stored: failing the message would
                # only have the broker deliver it again, into the same full channel.
                if not DeviceConsumer.watch_channel_full:
                    logger.warning(
                        "the watch channel %r is full, so readings' watches are not checked "
                        "(first: device %s): is `manage.py runworker %s` (the Procfile's watch) "
                        "running?",
                        settings.BOT_WATCH_CHANNEL,
                        self.device_id,
                        settings.BOT_WATCH_CHANNEL,
                    )
                DeviceConsumer.watch_channel_full = True
            else:
                if DeviceConsumer.watch_channel_full:
                    logger.info(
                        "the watch channel %r takes readings again", settings.BOT_WATCH_CHANNEL
                    )
                DeviceConsumer.watch_channel_full = False

    async def device_command(self, event: dict[str, Any]) -> None:
        """/set from some protocol: publish it to the device."""
        payload = json.dumps(event["command"], separators=(",", ":"))
        await self.publish(f"devices/{self.device_id}/cmd", text=payload, qos=1)
        logger.info("device %s: command %s from %s", self.device_id, payload, event.get("by"))

    async def disconnect(self, reason: str) -> None:
        await self.channel_layer.group_discard(device_group(self.device_id), self.channel_name)
        if reason == "offline" and refusal(self.device_id, "") is None:
            await went_offline(self.device_id, "its status says offline")
        logger.debug("device %s: scope closed (%s)", self.device_id[:DEVICE_ID_MAX], reason)
