"""Routes from native traffic to consumers, one list per protocol; project/asgi.py mounts them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import path

from consumers.chat import ChatConsumer
from consumers.devices import DeviceConsumer
from consumers.mqtt_chat import MqttChatConsumer
from consumers.packet_node import PacketNode
from consumers.radio import RadioBot
from consumers.telegram import TelegramBot
from gateway.ax25.modes import ModeRouter
from gateway.ax25.routing import normalize_callsign
from gateway.exceptions import ConfigurationError
from gateway.mqtt.routing import topic

#: WebSocket paths (the web adapter): the chat page's socket.
websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
]

#: MQTT topics (the MQTT adapter): one DeviceConsumer per device, closed when it goes offline;
#: one MqttChatConsumer per room.
mqtt_topic_routes = [
    topic("chat/{room}/in", MqttChatConsumer.as_asgi()),
    topic("devices/{device_id}/#", DeviceConsumer.as_asgi(), status="devices/{device_id}/status"),
]

#: Telegram chats (the Telegram adapter): one instance per chat.
telegram_application = TelegramBot.as_asgi()


def ax25_callsign_routes() -> dict[str, Any]:
    """AX.25 callsigns (the AX.25 adapter): every station of AX25_CALLSIGN runs the bot: RadioBot
    for APRS and UI frames, PacketNode for connected-mode sessions.

    Invalid callsigns are skipped here: the adapter refuses them at start with a clear error.
    """
    routes: dict[str, Any] = {}
    for item in settings.AX25_CALLSIGN.split(","):
        try:
            routes.setdefault(
                normalize_callsign(item),
                # Connected-mode sessions (C BOT-1 from a terminal) get the packet node.
                ModeRouter({"connected": PacketNode.as_asgi()}, default=RadioBot.as_asgi()),
            )
        except ConfigurationError:
            continue
    return routes
