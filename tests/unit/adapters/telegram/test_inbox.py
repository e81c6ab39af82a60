"""The inbox's wrapper for consumers without a telegram_disconnect handler (the seed's), and
its reach: the address in every chat's scope and the sends taken from the reach channel."""

from __future__ import annotations

import base64

import pytest

from adapters.telegram.inbox import REACH_TYPE, Inbox, reach_events, tolerate_missing_disconnect
from adapters.telegram.mapping import MAX_CAPTION, Inbound
from gateway.exceptions import InvalidMessage, UnknownEventType
from gateway.reach import ReachMessage
from gateway.testing import ApplicationCommunicator
from tests.unit.gateway.compat.test_channels_intro_chatty_bot_consumer import ChattyBotConsumer

pytestmark = pytest.mark.django_db(transaction=True)


async def test_seed_consumer_ends_quietly_when_its_chat_scope_closes() -> None:
    app = tolerate_missing_disconnect(ChattyBotConsumer.as_asgi())
    chat = ApplicationCommunicator(app, {"type": "telegram", "chat_id": 1})
    await chat.send_input({"type": "telegram.message", "text": "hi"})
    assert (await chat.receive_output())["text"] == "You said: hi"
    await chat.send_input({"type": "telegram.disconnect", "reason": "closed"})
    await chat.wait(1)  # returned, no UnknownEventType


async def test_other_unknown_events_still_fail() -> None:
    app = tolerate_missing_disconnect(ChattyBotConsumer.as_asgi())
    chat = ApplicationCommunicator(app, {"type": "telegram", "chat_id": 1})
    await chat.send_input({"type": "telegram.member", "change": "joined"})
    with pytest.raises(UnknownEventType, match="telegram_member"):
        await chat.receive_output()


async def test_chat_scopes_carry_the_reach_and_reach_messages_become_direct_sends() -> None:
    inbox = Inbox(
        None,  # type: ignore[arg-type]  # neither needs the runtime nor the database
        None,  # type: ignore[arg-type]
        lambda rows: None,
        {"id": 7, "username": "b", "first_name": "B"},
        reach_channel="telegram.reach.7",
    )
    chat = {"id": -100, "type": "group", "title": "g"}
    spec = inbox._open(Inbound(1, -100, chat, None, []))
    assert spec.scope["reach"] == {"channel": "telegram.reach.7", "type": REACH_TYPE, "to": -100}
    await inbox.deliver_reach(ReachMessage(-100, "[lobby] ana@web: hi"))
    assert inbox._direct == [
        (-100, "sendMessage", {"chat_id": -100, "text": "[lobby] ana@web: hi"}, 1.0)
    ]
    with pytest.raises(InvalidMessage, match="chat id"):
        await inbox.deliver_reach(ReachMessage("N0CALL", "x"))
    no_reach = Inbox(None, None, lambda rows: None, {"id": 7})  # type: ignore[arg-type]
    assert (
        "reach" not in no_reach._open(Inbound(1, 5, {"id": 5, "type": "private"}, None, [])).scope
    )


async def test_a_reach_message_with_a_photo_becomes_a_captioned_upload() -> None:
    inbox = Inbox(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        lambda rows: None,
        {"id": 7},
        reach_channel="telegram.reach.7",
    )
    await inbox.deliver_reach(ReachMessage(42, "Room r\nBy protocol: web 1", b"\x89PNG"))
    [(chat_id, method, params, _)] = inbox._direct
    assert (chat_id, method) == (42, "sendPhoto")
    assert params["caption"] == "Room r\nBy protocol: web 1"
    assert params["photo"]["filename"] == "photo.png"
    assert base64.b64decode(params["photo"]["bytes"]) == b"\x89PNG"


def test_text_beyond_the_caption_limit_follows_the_photo_as_a_message() -> None:
    text = "line\n" * 300  # 1,500 characters
    photo, rest = reach_events(ReachMessage(42, text, b"\x89PNG"))
    assert photo["type"] == "telegram.photo" and len(photo["caption"]) <= MAX_CAPTION
    assert rest["type"] == "telegram.message"
    assert photo["caption"] + rest["text"] == text
    assert reach_events(ReachMessage(42, "hi")) == [{"type": "telegram.message", "text": "hi"}]
