"""Routes from native traffic to consumers, one list per protocol; project/asgi.py mounts them."""

from __future__ import annotations

from django.urls import path

from consumers.chat import ChatConsumer
from consumers.devices import DeviceConsumer
from consumers.telegram import TelegramEchoBot
from gateway.mqtt.routing import topic

#: WebSocket paths (the web adapter): the chat page's socket.
websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
]

#: MQTT topics (the MQTT adapter): one DeviceConsumer per device, closed when it goes offline.
mqtt_topic_routes = [
    topic("devices/{device_id}/#", DeviceConsumer.as_asgi(), status="devices/{device_id}/status"),
]

#: Telegram chats (the Telegram adapter): one instance per chat.
telegram_application = TelegramEchoBot.as_asgi()
