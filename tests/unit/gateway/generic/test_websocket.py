"""WebsocketConsumer and AsyncWebsocketConsumer, driven through WebsocketCommunicator."""

from __future__ import annotations

import uuid

import pytest

from gateway.exceptions import (
    AcceptConnection,
    DenyConnection,
    InvalidChannelLayerError,
    LocalProtocolError,
)
from gateway.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from gateway.testing import WebsocketCommunicator

# Sync consumers close stale database connections around every handler, as in Channels.
needs_db = pytest.mark.django_db(transaction=True)


class AsyncEcho(AsyncWebsocketConsumer):
    """Echoes frames; "bye" closes with a reason; "last" sends then closes; records codes."""

    closed_codes: list[int] | None = None

    async def connect(self):
        offered = self.scope.get("subprotocols") or [None]
        await self.accept(subprotocol=offered[0], headers=[(b"x-bot", b"echo")])

    async def receive(self, text_data=None, bytes_data=None):
        if text_data == "bye":
            await self.close(code=4001, reason="bye now")
        elif text_data == "last":
            await self.send(text_data="last words", close=4002)
        elif text_data == "nothing":
            await self.send()
        elif text_data is not None:
            await self.send(text_data=f"echo: {text_data}")
        else:
            await self.send(bytes_data=bytes_data[::-1])

    async def chat_message(self, event):
        await self.send(text_data=event["text"])

    async def disconnect(self, code):
        if self.closed_codes is not None:
            self.closed_codes.append(code)


class SyncEcho(WebsocketConsumer):
    """AsyncEcho, written with sync handlers."""

    closed_codes: list[int] | None = None

    def connect(self):
        offered = self.scope.get("subprotocols") or [None]
        self.accept(subprotocol=offered[0], headers=[(b"x-bot", b"echo")])

    def receive(self, text_data=None, bytes_data=None):
        if text_data == "bye":
            self.close(code=4001, reason="bye now")
        elif text_data == "last":
            self.send(text_data="last words", close=4002)
        elif text_data == "nothing":
            self.send()
        elif text_data is not None:
            self.send(text_data=f"echo: {text_data}")
        else:
            self.send(bytes_data=bytes_data[::-1])

    def chat_message(self, event):
        self.send(text_data=event["text"])

    def disconnect(self, code):
        if self.closed_codes is not None:
            self.closed_codes.append(code)


@pytest.fixture(
    params=[pytest.param(AsyncEcho, id="async"), pytest.param(SyncEcho, id="sync", marks=needs_db)]
)
def echo_class(request: pytest.FixtureRequest) -> type:
    return request.param


async def test_accept_with_subprotocol_and_headers(echo_class) -> None:
    communicator = WebsocketCommunicator(echo_class.as_asgi(), "/echo/", subprotocols=["v2.bot"])
    connected, subprotocol = await communicator.connect()
    assert connected
    assert subprotocol == "v2.bot"
    assert communicator.response_headers == [(b"x-bot", b"echo")]
    await communicator.disconnect()


async def test_default_connect_accepts_without_subprotocol() -> None:
    communicator = WebsocketCommunicator(AsyncWebsocketConsumer.as_asgi(), "/plain/")
    assert await communicator.connect() == (True, None)
    await communicator.disconnect()


async def test_text_and_binary_frames_reach_receive(echo_class) -> None:
    communicator = WebsocketCommunicator(echo_class.as_asgi(), "/echo/")
    await communicator.connect()
    await communicator.send_to(text_data="hello")
    assert await communicator.receive_from() == "echo: hello"
    await communicator.send_to(bytes_data=b"\x01\x02\x03")
    assert await communicator.receive_from() == b"\x03\x02\x01"
    await communicator.disconnect()


async def test_close_with_code_and_reason(echo_class) -> None:
    communicator = WebsocketCommunicator(echo_class.as_asgi(), "/echo/")
    await communicator.connect()
    await communicator.send_to(text_data="bye")
    assert await communicator.receive_output() == {
        "type": "websocket.close",
        "code": 4001,
        "reason": "bye now",
    }
    await communicator.disconnect(code=4001)


async def test_send_with_close_sends_then_closes_with_that_code(echo_class) -> None:
    communicator = WebsocketCommunicator(echo_class.as_asgi(), "/echo/")
    await communicator.connect()
    await communicator.send_to(text_data="last")
    assert await communicator.receive_from() == "last words"
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4002}
    await communicator.disconnect(code=4002)


async def test_closing_mid_conversation_then_disconnect_ends_the_consumer(echo_class) -> None:
    closed_codes: list[int] = []
    app = echo_class.as_asgi(closed_codes=closed_codes)
    communicator = WebsocketCommunicator(app, "/echo/")
    await communicator.connect()
    # The client keeps sending while the server closes: frames already in flight are handled.
    await communicator.send_to(text_data="bye")
    await communicator.send_to(text_data="in flight")
    assert (await communicator.receive_output())["type"] == "websocket.close"
    assert await communicator.receive_from() == "echo: in flight"
    await communicator.disconnect(code=4001)
    assert communicator.future.exception() is None
    assert closed_codes == [4001]


async def test_send_without_data_is_a_local_error(echo_class) -> None:
    communicator = WebsocketCommunicator(echo_class.as_asgi(), "/echo/")
    await communicator.connect()
    await communicator.send_to(text_data="nothing")
    with pytest.raises(LocalProtocolError, match="text_data or bytes_data"):
        await communicator.receive_output()


async def test_disconnect_without_code_reports_1005() -> None:
    closed_codes: list[int] = []
    communicator = WebsocketCommunicator(AsyncEcho.as_asgi(closed_codes=closed_codes), "/echo/")
    await communicator.connect()
    await communicator.send_input({"type": "websocket.disconnect"})
    await communicator.wait()
    assert closed_codes == [1005]


class AsyncGate(AsyncWebsocketConsumer):
    """Decides in connect() from the path: close before accept, deny, or accept by exception."""

    async def connect(self):
        if self.scope["path"] == "/close/":
            await self.close(code=4003)
        elif self.scope["path"] == "/deny/":
            raise DenyConnection
        else:
            raise AcceptConnection


class SyncGate(WebsocketConsumer):
    def connect(self):
        if self.scope["path"] == "/close/":
            self.close(code=4003)
        elif self.scope["path"] == "/deny/":
            raise DenyConnection
        else:
            raise AcceptConnection


@pytest.fixture(
    params=[pytest.param(AsyncGate, id="async"), pytest.param(SyncGate, id="sync", marks=needs_db)]
)
def gate_class(request: pytest.FixtureRequest) -> type:
    return request.param


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/close/", (False, 4003)), ("/deny/", (False, 1000)), ("/accept/", (True, None))],
)
async def test_connect_can_reject_deny_or_accept(gate_class, path, expected) -> None:
    communicator = WebsocketCommunicator(gate_class.as_asgi(), path)
    assert await communicator.connect() == expected
    await communicator.disconnect()


async def test_groups_are_joined_on_connect_and_left_on_disconnect(echo_class, layer) -> None:
    group = f"room-{uuid.uuid4().hex}"
    communicator = WebsocketCommunicator(echo_class.as_asgi(groups=[group]), "/echo/")
    await communicator.connect()
    await layer.group_send(group, {"type": "chat.message", "text": "to the room"})
    assert await communicator.receive_from() == "to the room"
    await communicator.disconnect()
    assert [(action, name) for action, name, _ in layer.calls] == [
        ("add", group),
        ("discard", group),
    ]
    assert layer.calls[0][2] == layer.calls[1][2]


async def test_groups_on_the_class_are_not_shared_between_instances(layer) -> None:
    class Lobby(AsyncWebsocketConsumer):
        groups = ["lobby"]

    first = WebsocketCommunicator(Lobby.as_asgi(), "/lobby/")
    second = WebsocketCommunicator(Lobby.as_asgi(), "/lobby/")
    await first.connect()
    await second.connect()
    await first.disconnect()
    await second.disconnect()
    assert Lobby.groups == ["lobby"]
    channels = {channel for action, _, channel in layer.calls if action == "add"}
    assert len(channels) == 2


async def test_groups_without_a_channel_layer_say_what_to_set(settings) -> None:
    settings.CHANNEL_LAYERS = {}
    communicator = WebsocketCommunicator(AsyncEcho.as_asgi(groups=["lobby"]), "/echo/")
    with pytest.raises(InvalidChannelLayerError, match="set CHANNEL_LAYERS"):
        await communicator.connect()
