"""Run by test_testcase_connection.py in a subprocess with disk_db_settings (not collected on
its own): consumers querying the database inside a Django TestCase, through communicators."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connections
from django.test import TestCase

from gateway.db import database_sync_to_async
from gateway.generic.http import AsyncHttpConsumer
from gateway.generic.websocket import AsyncWebsocketConsumer
from gateway.testing import HttpCommunicator, WebsocketCommunicator


@database_sync_to_async
def count_users() -> int:
    return User.objects.count()


class CountingWebsocket(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.users = await count_users()
        await self.accept()
        await self.send(text_data=str(self.users))


class CountingHttp(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        await self.send_response(200, str(await count_users()).encode())


class ConsumersInTestCase(TestCase):
    def setUp(self) -> None:
        User.objects.create(username="uncommitted")

    async def test_websocket_consumer_queries_the_test_database(self) -> None:
        assert "mode=memory" not in str(connections["default"].settings_dict["NAME"])
        communicator = WebsocketCommunicator(CountingWebsocket.as_asgi(), "/")
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_from() == "1"
        await communicator.disconnect()
        assert await User.objects.acount() == 1

    async def test_http_consumer_queries_the_test_database(self) -> None:
        communicator = HttpCommunicator(CountingHttp.as_asgi(), "GET", "/")
        response = await communicator.get_response()
        assert (response["status"], response["body"]) == (200, b"1")
        assert await User.objects.acount() == 1
