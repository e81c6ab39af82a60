"""The ASGI application the runworker subprocess test serves: the seed's thumbnail consumer."""

from __future__ import annotations

import logging
from typing import Any

from gateway.consumer import AsyncConsumer
from gateway.routing import ChannelNameRouter, ProtocolTypeRouter

logger = logging.getLogger(__name__)


class ThumbnailConsumer(AsyncConsumer):
    """Handles the seed's "thumbnail.generate" message; logs what the test waits for."""

    async def thumbnail_generate(self, event: dict[str, Any]) -> None:
        logger.warning("thumbnail %s generated on %s", event["id"], self.scope["channel"])


application = ProtocolTypeRouter(
    {"channel": ChannelNameRouter({"myproject.thumbnail_notifications": ThumbnailConsumer})}
)
