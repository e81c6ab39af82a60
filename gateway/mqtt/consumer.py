"""AsyncMqttConsumer: a consumer base for ``mqtt`` scopes, like AsyncWebsocketConsumer.

Override :meth:`message` (and :meth:`connect`, :meth:`disconnect` if needed); call
:meth:`publish`, :meth:`subscribe`, :meth:`unsubscribe`. Every ``mqtt.*`` event has a default
handler, so a consumer never dies of an event type it did not expect.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.consumer import AsyncConsumer
from gateway.exceptions import StopConsumer

logger = logging.getLogger(__name__)


class AsyncMqttConsumer(AsyncConsumer):
    """Handles one device's ``mqtt`` scope. ``self.kwargs`` holds the route's captured values."""

    kwargs: dict[str, str]

    async def mqtt_connect(self, event: dict[str, Any]) -> None:
        """First event of the scope: sets ``self.kwargs``, then calls :meth:`connect`."""
        self.kwargs = dict(self.scope.get("topic_route", {}).get("kwargs", {}))
        await self.connect()

    async def mqtt_message(self, event: dict[str, Any]) -> None:
        """A message for this device: calls :meth:`message`."""
        await self.message(event)

    async def mqtt_publish_result(self, event: dict[str, Any]) -> None:
        """The outcome of a :meth:`publish`: logs failures; override to track them."""
        if not event["ok"]:
            logger.warning("publish to %r failed: %s", event["topic"], event["error"])

    async def mqtt_disconnect(self, event: dict[str, Any]) -> None:
        """Last event of the scope (offline, idle, shutdown): calls :meth:`disconnect`, stops."""
        await self.disconnect(event["reason"])
        raise StopConsumer()

    async def connect(self) -> None:
        """Called when the device's scope opens. Override it."""

    async def message(self, event: dict[str, Any]) -> None:
        """Called for each ``mqtt.message`` event, in the device's order. Override it."""

    async def disconnect(self, reason: str) -> None:
        """Called when the scope closes ("offline", "idle", "shutdown"). Override it."""

    async def publish(
        self,
        topic: str,
        payload: bytes | None = None,
        *,
        text: str | None = None,
        qos: int = 0,
        retain: bool = False,
        properties: dict[str, Any] | None = None,
        id: Any = None,
    ) -> None:
        """Publish a message; ``mqtt.publish.result`` reports the outcome later.

        Raises:
            LocalProtocolError: invalid topic (wildcards, empty), qos or payload type.
        """
        message: dict[str, Any] = {"type": "mqtt.publish", "topic": topic, "qos": qos}
        if text is not None:
            message["text"] = text
        else:
            message["payload"] = payload or b""
        if retain:
            message["retain"] = True
        if properties:
            message["properties"] = properties
        if id is not None:
            message["id"] = id
        await self.send(message)

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Receive messages matching ``topic_filter`` in this scope too (until it closes)."""
        await self.send({"type": "mqtt.subscribe", "topic": topic_filter, "qos": qos})

    async def unsubscribe(self, topic_filter: str) -> None:
        """Stop receiving a filter :meth:`subscribe` added."""
        await self.send({"type": "mqtt.unsubscribe", "topic": topic_filter})
