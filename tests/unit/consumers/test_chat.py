"""consumers.chat.ChatConsumer in process, on the in-memory layer, with the Communicator."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from consumers.chat import ChatConsumer
from consumers.rooms import post_to_room
from gateway.layers import get_channel_layer
from gateway.testing import WebsocketCommunicator

# Joining a room reads and writes the bot's tables (identity, presence, history).
pytestmark = pytest.mark.django_db(transaction=True)


async def join(comm: WebsocketCommunicator, room: str, nick: str) -> dict[str, object]:
    """Join; return the "joined" frame after checking the history and who-list that follow."""
    await comm.send_json_to({"type": "join", "room": room, "nick": nick})
    joined = await comm.receive_json_from(timeout=5)
    assert (await comm.receive_json_from(timeout=5))["type"] == "history"
    assert (await comm.receive_json_from(timeout=5))["type"] == "who"
    return joined


@pytest.fixture
async def room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def ana(room: str) -> AsyncIterator[WebsocketCommunicator]:
    comm = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    connected, _ = await comm.connect()
    assert connected
    yield comm
    await comm.disconnect()


async def test_join_then_messages_from_any_protocol_arrive_tagged(
    ana: WebsocketCommunicator, room: str
) -> None:
    assert await join(ana, room, " ana ") == {"type": "joined", "room": room, "nick": "ana"}
    layer = get_channel_layer()
    await post_to_room(layer, room.upper(), "N0CALL-7", "73 de radio", "radio", ts=1.0)
    assert await ana.receive_json_from() == {
        "type": "message",
        "room": room.upper(),
        "sender": "N0CALL-7",
        "text": "73 de radio",
        "source": "radio",
        "ts": 1.0,
    }


async def test_sending_reaches_the_room_including_the_sender(
    ana: WebsocketCommunicator, room: str
) -> None:
    await join(ana, room, "ana")
    await ana.send_json_to({"type": "send", "text": "  hello  "})
    message = await ana.receive_json_from(timeout=5)
    assert (message["sender"], message["text"], message["source"]) == ("ana", "hello", "web")


async def test_switching_rooms_leaves_the_old_one(ana: WebsocketCommunicator, room: str) -> None:
    await join(ana, room, "ana")
    await join(ana, room + "-2", "ana")
    await post_to_room(get_channel_layer(), room, "bob", "old room", "web")
    assert await ana.receive_nothing()


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("{oops", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"type": "dance"}', "unknown message type 'dance'"),
        ('{"type": "send", "text": "hi"}', "join a room first"),
        ('{"type": "join", "room": "", "nick": "ana"}', "room is empty"),
    ],
)
async def test_bad_input_gets_an_error_reply_and_the_socket_stays_open(
    ana: WebsocketCommunicator, frame: str, error: str
) -> None:
    await ana.send_to(text_data=frame)
    reply = await ana.receive_json_from()
    assert reply["type"] == "error" and error in reply["error"]
    await ana.send_to(bytes_data=b"\x01")
    assert "binary frames" in (await ana.receive_json_from())["error"]
