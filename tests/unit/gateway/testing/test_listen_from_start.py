"""Under a test communicator a consumer listens on its channel from the start, as Channels'
consumers do: Channels' own tests find the channel in ``layer.channels`` and send to it."""

from __future__ import annotations

import asyncio
from typing import Any

from django.test import override_settings

from gateway.consumer import AsyncConsumer
from gateway.generic.websocket import AsyncWebsocketConsumer
from gateway.layers import get_channel_layer
from gateway.testing import WebsocketCommunicator

LAYERS = {"testlayer": {"BACKEND": "gateway.layers.InMemoryChannelLayer"}}


class Echo(AsyncWebsocketConsumer):
    channel_layer_alias = "testlayer"

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


@override_settings(CHANNEL_LAYERS=LAYERS)
async def test_a_test_can_find_the_consumers_channel_and_send_to_it() -> None:
    communicator = WebsocketCommunicator(Echo.as_asgi(), "/testws/")
    assert (await communicator.connect())[0]
    layer = get_channel_layer("testlayer")
    assert layer is not None
    [channel_name] = list(layer.channels.keys())  # type: ignore[attr-defined]
    await layer.send(channel_name, {"type": "websocket.receive", "text": "hello"})
    assert await communicator.receive_from() == "hello"
    await communicator.disconnect()


class Quiet(AsyncConsumer):
    channel_layer_alias = "testlayer"

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        await self.send({"type": "websocket.accept"})


@override_settings(CHANNEL_LAYERS=LAYERS)
async def test_outside_a_communicator_a_consumer_listens_once_its_name_is_read() -> None:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(
        Quiet.as_asgi()({"type": "websocket", "path": "/"}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "websocket.connect"})
    assert await asyncio.wait_for(outbox.get(), 1) == {"type": "websocket.accept"}
    layer = get_channel_layer("testlayer")
    assert len(layer.channels) == 0  # type: ignore[union-attr]  # nobody read the name
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
