"""Tiny consumers for the names the seed's routing examples use but never define."""

from __future__ import annotations

from gateway.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer


class _GreetingConsumer(WebsocketConsumer):
    """Accept and say which consumer answered, so a test can tell the routes apart."""

    greeting = ""

    def connect(self) -> None:
        self.accept()
        self.send(text_data=self.greeting)


class AdminChatConsumer(_GreetingConsumer):
    greeting = "admin chat"


class PublicChatConsumer(_GreetingConsumer):
    greeting = "public chat"


class AsyncChatConsumer(AsyncWebsocketConsumer):
    """Greet the user AuthMiddlewareStack found, with the route's positional capture."""

    async def connect(self) -> None:
        await self.accept()
        (captured,) = self.scope["url_route"]["args"]
        await self.send(text_data=f"{captured}: hello {self.scope['user']}")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=f"{self.scope['user']} said {text_data}")
