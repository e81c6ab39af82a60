"""The seed's ChatConsumer (a WebsocketConsumer), with only the import line changed."""

# ruff: noqa: UP031  (the seed's code is kept as written, %-formatting included)

from __future__ import annotations

import pytest

from gateway.generic.websocket import WebsocketConsumer
from gateway.testing import WebsocketCommunicator

# --- from the seed document, unchanged -----------------------------------------------------
# fmt: off


class ChatConsumer(WebsocketConsumer):

    def connect(self):
        self.username = "Anonymous"
        self.accept()
        self.send(text_data="[Welcome %s!]" % self.username)

    def receive(self, *, text_data):
        if text_data.startswith("/name"):
            self.username = text_data[5:].strip()
            self.send(text_data="[set your username to %s]" % self.username)
        else:
            self.send(text_data=self.username + ": " + text_data)

    def disconnect(self, message):
        pass

# fmt: on

# --- tests ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_chat_consumer_welcomes_renames_and_echoes() -> None:
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/chat/")
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_from() == "[Welcome Anonymous!]"

    await communicator.send_to(text_data="hello")
    assert await communicator.receive_from() == "Anonymous: hello"

    await communicator.send_to(text_data="/name  Ada ")
    assert await communicator.receive_from() == "[set your username to Ada]"

    await communicator.send_to(text_data="hi all")
    assert await communicator.receive_from() == "Ada: hi all"

    await communicator.disconnect()
    assert communicator.future.exception() is None
