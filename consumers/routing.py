"""Routes from native traffic to consumers, one list per protocol; project/asgi.py mounts them."""

from __future__ import annotations

from django.urls import path

from consumers.chat import ChatConsumer

#: WebSocket paths (the web adapter): the chat page's socket.
websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
]
