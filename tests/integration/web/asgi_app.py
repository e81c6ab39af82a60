"""The project's application plus one test-only route, served by the integration tests.

The server subprocess gets ``ASGI_APPLICATION=tests.integration.web.asgi_app.application``.
"""

from __future__ import annotations

from django.urls import path

from consumers.routing import websocket_urlpatterns
from gateway.auth import AuthMiddlewareStack
from gateway.generic.websocket import AsyncWebsocketConsumer
from gateway.routing import ProtocolTypeRouter, URLRouter
from gateway.security.websocket import AllowedHostsOriginValidator
from project.asgi import django_asgi_app


class RaisingConsumer(AsyncWebsocketConsumer):
    """Accepts, echoes, and raises on "boom": the server must close only this socket, 1011."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "boom":
            raise RuntimeError("boom requested by the test")
        await self.send(text_data=text_data)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                URLRouter([*websocket_urlpatterns, path("ws/boom/", RaisingConsumer.as_asgi())])
            )
        ),
    }
)
