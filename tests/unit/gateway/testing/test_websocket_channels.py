"""WebsocketCommunicator where Channels 4.3's own tests pin its behaviour: receiving from a
closed socket, disconnect() after a timeout, accept headers as the consumer wrote them."""

from __future__ import annotations

import asyncio

import pytest

from gateway.exceptions import ApplicationCancelled, RemoteProtocolError, UnexpectedMessage
from gateway.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from gateway.testing import WebsocketCommunicator


class AcceptClose(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        await self.close()


class Silent(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        pass


class AsyncHeaders(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept(headers=[[b"foo", b"bar"]])


class SyncHeaders(WebsocketConsumer):
    def connect(self) -> None:
        self.accept(headers=[[b"foo", b"bar"]])


class StrHeaders(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept(headers={"x-room": "lobby"})


@pytest.mark.parametrize("receive", ["receive_from", "receive_json_from"])
async def test_receive_on_a_closed_socket_is_an_assertion_with_channels_message(
    receive: str,
) -> None:
    communicator = WebsocketCommunicator(AcceptClose.as_asgi(), "/testws/")
    await communicator.connect()
    with pytest.raises(AssertionError) as info:
        await getattr(communicator, receive)()
    assert str(info.value) == "Expected type 'websocket.send', but was 'websocket.close'"
    assert isinstance(info.value, UnexpectedMessage)
    assert isinstance(info.value, RemoteProtocolError)


async def test_disconnect_after_a_timeout_raises_cancelled_error() -> None:
    communicator = WebsocketCommunicator(Silent.as_asgi(), "/testws/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data="hello")
    with pytest.raises(asyncio.TimeoutError):
        await communicator.receive_from(timeout=0.05)
    # The timeout cancelled the application: Channels raises CancelledError here too.
    with pytest.raises(asyncio.CancelledError) as info:
        await communicator.disconnect()
    assert isinstance(info.value, ApplicationCancelled)
    assert "cancelled when a receive timed out" in str(info.value)


@pytest.mark.parametrize("consumer", [AsyncHeaders, SyncHeaders])
@pytest.mark.django_db(transaction=True)
async def test_accept_headers_come_back_as_written(consumer: type) -> None:
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/testws/", spec_version="2.3")
    connected, _ = await communicator.connect()
    assert connected
    assert communicator.response_headers == [[b"foo", b"bar"]]
    await communicator.disconnect()


async def test_accept_headers_given_as_str_mapping_become_asgi_pairs() -> None:
    communicator = WebsocketCommunicator(StrHeaders.as_asgi(), "/testws/")
    assert (await communicator.connect())[0]
    assert communicator.response_headers == [(b"x-room", b"lobby")]
    await communicator.disconnect()
