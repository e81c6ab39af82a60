"""The seed's PingConsumer (an AsyncConsumer), with only the import lines changed."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.consumer import AsyncConsumer
from gateway.exceptions import UnknownEventType
from gateway.testing import WebsocketCommunicator

# --- from the seed document, unchanged -----------------------------------------------------
# fmt: off


class PingConsumer(AsyncConsumer):
    async def websocket_connect(self, message):
        await self.send({
            "type": "websocket.accept",
        })

    async def websocket_receive(self, message):
        await asyncio.sleep(1)
        await self.send({
            "type": "websocket.send",
            "text": "pong",
        })

# fmt: on

# --- tests ---------------------------------------------------------------------------------


async def test_ping_consumer_answers_pong() -> None:
    communicator = WebsocketCommunicator(PingConsumer.as_asgi(), "/ping/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data="ping")
    # The handler sleeps one second before answering; allow for a slow machine.
    assert await communicator.receive_from(timeout=10) == "pong"
    communicator.future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await communicator.future


async def test_ping_consumer_has_no_disconnect_handler_and_the_error_says_so() -> None:
    communicator = WebsocketCommunicator(PingConsumer.as_asgi(), "/ping/")
    await communicator.connect()
    with pytest.raises(UnknownEventType, match=r"async def websocket_disconnect\(self, message\)"):
        await communicator.disconnect()
