"""JSON WebSocket consumers, including the invalid-JSON hook (our one difference from Channels)."""

from __future__ import annotations

import pytest

from gateway.exceptions import RemoteProtocolError
from gateway.generic.websocket import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer
from gateway.testing import WebsocketCommunicator

needs_db = pytest.mark.django_db(transaction=True)


class AsyncJsonEcho(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json({"echo": content}, close=content == "quit")


class SyncJsonEcho(JsonWebsocketConsumer):
    def receive_json(self, content, **kwargs):
        self.send_json({"echo": content}, close=content == "quit")


class StrictJson(AsyncJsonWebsocketConsumer):
    """Closes the connection on invalid JSON instead of answering."""

    async def receive_invalid_json(self, text_data, error):
        await self.close(code=4400, reason="JSON only")


@pytest.fixture(
    params=[
        pytest.param(AsyncJsonEcho, id="async"),
        pytest.param(SyncJsonEcho, id="sync", marks=needs_db),
    ]
)
async def communicator(request: pytest.FixtureRequest):
    communicator = WebsocketCommunicator(request.param.as_asgi(), "/json/")
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.mark.parametrize("content", [{"a": [1, 2.5, None]}, "text", 3, True, None, []])
async def test_json_round_trip(communicator, content) -> None:
    await communicator.send_json_to(content)
    assert await communicator.receive_json_from() == {"echo": content}
    await communicator.disconnect()


@pytest.mark.parametrize("text", ["{not json", "", "[1,", "NaN-ish"])
async def test_invalid_json_gets_an_error_reply_and_the_connection_stays_open(
    communicator, text
) -> None:
    await communicator.send_to(text_data=text)
    reply = await communicator.receive_json_from()
    assert set(reply) == {"error"}
    assert reply["error"].startswith("invalid JSON: ")
    await communicator.send_json_to({"still": "here"})
    assert await communicator.receive_json_from() == {"echo": {"still": "here"}}
    await communicator.disconnect()


async def test_send_json_can_close(communicator) -> None:
    await communicator.send_json_to("quit")
    assert await communicator.receive_json_from() == {"echo": "quit"}
    assert await communicator.receive_output() == {"type": "websocket.close"}
    await communicator.disconnect()


async def test_a_binary_frame_is_a_remote_protocol_error(communicator) -> None:
    await communicator.send_to(bytes_data=b"{}")
    with pytest.raises(RemoteProtocolError, match="text frames") as info:
        await communicator.receive_output()
    # Channels raises ValueError ("No text section..."); tests written for it catch that.
    assert isinstance(info.value, ValueError)


async def test_receive_invalid_json_can_be_overridden_to_close() -> None:
    communicator = WebsocketCommunicator(StrictJson.as_asgi(), "/json/")
    await communicator.connect()
    await communicator.send_to(text_data="{oops")
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 4400,
        "reason": "JSON only",
    }
    await communicator.disconnect(code=4400)


async def test_encode_and_decode_can_be_overridden() -> None:
    class Upper(AsyncJsonWebsocketConsumer):
        @classmethod
        async def encode_json(cls, content):
            return (await super().encode_json(content)).upper()

        async def receive_json(self, content, **kwargs):
            await self.send_json(content)

    communicator = WebsocketCommunicator(Upper.as_asgi(), "/json/")
    await communicator.connect()
    await communicator.send_json_to({"k": "v"})
    assert await communicator.receive_from() == '{"K": "V"}'
    await communicator.disconnect()
