"""Telegram <-> ASGI mapping: updates in, Bot API calls out, splitting (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.telegram.mapping import (
    MAX_TEXT,
    ApiCall,
    Ignored,
    Inbound,
    build_scope,
    map_update,
    outbound_calls,
    parse_command,
    split_text,
    utf16_len,
)
from gateway.exceptions import LocalProtocolError, RemoteProtocolError

USER = {"id": 42, "is_bot": False, "first_name": "Ana", "username": "ana", "language_code": "en"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Ana", "username": "ana"}
GROUP = {"id": -100123, "type": "supergroup", "title": "Radio club"}


def message(
    text: str | None = "hi", chat: dict[str, Any] = PRIVATE, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": 7, "date": 1_700_000_000, "chat": chat, "from": USER}
    if text is not None:
        body["text"] = text
    body.update(extra)
    return body


def test_text_message_becomes_one_event_for_its_chat() -> None:
    result = map_update({"update_id": 10, "message": message("hello  there ")})
    assert isinstance(result, Inbound)
    assert result.chat_id == 42
    assert result.chat == {"id": 42, "type": "private", "title": "ana"}
    [event] = result.events
    assert event["type"] == "telegram.message"
    assert event["text"] == "hello  there "  # verbatim
    assert event["message_id"] == 7
    assert event["from"]["id"] == 42 and event["from"]["username"] == "ana"
    assert event["entities"] == [] and event["reply_to"] is None
    assert event["kind"] == "text" and "command" not in event


def test_command_with_bot_name_and_args() -> None:
    entity = {"type": "bot_command", "offset": 0, "length": 15}
    result = map_update(
        {"update_id": 1, "message": message("/start@gw_bot a  b", entities=[entity])}
    )
    assert isinstance(result, Inbound)
    event = result.events[0]
    assert event["command"] == "start" and event["args"] == ["a", "b"]
    assert event["entities"] == [entity]


def test_parse_command_edges() -> None:
    assert parse_command("/help") == ("help", [])
    assert parse_command("hello /help") is None
    assert parse_command("/") is None


def test_reply_photo_document_location() -> None:
    photo = [{"file_id": "p", "file_unique_id": "u", "width": 90, "height": 60}]
    result = map_update(
        {
            "update_id": 2,
            "message": message(
                None,
                GROUP,
                photo=photo,
                caption="look",
                reply_to_message=message("earlier", GROUP, message_id=3),
            ),
        }
    )
    assert isinstance(result, Inbound)
    event = result.events[0]
    assert result.chat == {"id": -100123, "type": "supergroup", "title": "Radio club"}
    assert event["text"] is None and event["kind"] == "photo" and event["caption"] == "look"
    assert event["photo"][0]["file_id"] == "p" and event["reply_to"] == 3
    doc = map_update(
        {
            "update_id": 3,
            "message": message(None, document={"file_id": "d", "file_unique_id": "x"}),
        }
    )
    assert isinstance(doc, Inbound) and doc.events[0]["document"]["file_id"] == "d"
    loc = map_update(
        {"update_id": 4, "message": message(None, location={"latitude": 1.5, "longitude": 2})}
    )
    assert isinstance(loc, Inbound)
    assert loc.events[0]["location"] == {"latitude": 1.5, "longitude": 2}


def test_edited_message_and_callback_query() -> None:
    edited = map_update({"update_id": 5, "edited_message": message("fixed")})
    assert isinstance(edited, Inbound) and edited.events[0]["type"] == "telegram.edited_message"
    query = map_update(
        {
            "update_id": 6,
            "callback_query": {
                "id": "q1",
                "from": USER,
                "chat_instance": "ci",
                "data": "yes",
                "message": message("pick one"),
            },
        }
    )
    assert isinstance(query, Inbound)
    event = query.events[0]
    assert event["type"] == "telegram.callback_query"
    assert (event["id"], event["data"], event["message_id"]) == ("q1", "yes", 7)


def test_members_joining_and_leaving() -> None:
    joined = map_update({"update_id": 8, "message": message(None, GROUP, new_chat_members=[USER])})
    assert isinstance(joined, Inbound)
    assert joined.events[0]["type"] == "telegram.member"
    assert joined.events[0]["change"] == "joined" and joined.events[0]["members"][0]["id"] == 42
    member = {
        "update_id": 9,
        "chat_member": {
            "chat": GROUP,
            "from": USER,
            "date": 1_700_000_000,
            "old_chat_member": {"status": "member", "user": USER},
            "new_chat_member": {"status": "left", "user": USER},
        },
    }
    left = map_update(member)
    assert isinstance(left, Inbound) and left.events[0]["change"] == "left"


def test_unhandled_kinds_are_ignored_not_errors() -> None:
    inline = {
        "update_id": 11,
        "inline_query": {"id": "i", "from": USER, "query": "x", "offset": ""},
    }
    assert map_update(inline) == Ignored(11, "inline_query")
    assert map_update({"update_id": 12}) == Ignored(12, "empty")


@pytest.mark.parametrize("bad", [[], "x", {"message": {}}, {"update_id": "1"}])
def test_not_an_update_is_a_remote_error(bad: Any) -> None:
    with pytest.raises(RemoteProtocolError, match="not a Telegram update"):
        map_update(bad)


def test_scope_carries_chat_user_bot() -> None:
    scope = build_scope({"id": 1, "type": "private", "title": "a"}, USER, {"id": 9})
    assert scope["type"] == "telegram" and scope["chat"]["id"] == 1 and scope["chat_id"] == 1
    assert scope["user"]["id"] == 42 and scope["bot"] == {"id": 9}
    assert scope["spec_version"] == scope["asgi"]["spec_version"] == "1.0"


# --- outbound --------------------------------------------------------------------------


def test_message_with_markup_and_reply() -> None:
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "ok"}]]}
    [call] = outbound_calls(
        5,
        {
            "type": "telegram.message",
            "text": "hi",
            "parse_mode": "HTML",
            "reply_markup": markup,
            "reply_to": 3,
        },
    )
    assert call == ApiCall(
        "sendMessage",
        {
            "chat_id": 5,
            "text": "hi",
            "parse_mode": "HTML",
            "reply_markup": markup,
            "reply_parameters": {"message_id": 3, "allow_sending_without_reply": True},
        },
    )


def test_long_message_is_split_in_order_markup_last_reply_first() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    calls = outbound_calls(
        5, {"type": "telegram.message", "text": text, "reply_to": 1, "reply_markup": {"k": 1}}
    )
    assert len(calls) > 1
    assert "".join(c.params["text"] for c in calls) == text
    assert all(utf16_len(c.params["text"]) <= MAX_TEXT for c in calls)
    assert all(c.params["text"].endswith("\n") for c in calls[:-1])  # cut at line ends
    assert "reply_parameters" in calls[0].params and "reply_parameters" not in calls[1].params
    assert "reply_markup" in calls[-1].params and "reply_markup" not in calls[0].params


def test_other_send_events() -> None:
    assert outbound_calls(5, {"type": "telegram.edit", "message_id": 9, "text": "v2"})[0] == (
        ApiCall("editMessageText", {"chat_id": 5, "message_id": 9, "text": "v2"})
    )
    answer = outbound_calls(5, {"type": "telegram.answer_callback", "id": "q", "text": "ok"})
    assert answer[0].method == "answerCallbackQuery" and answer[0].cost == 0
    typing = outbound_calls(5, {"type": "telegram.typing"})[0]
    assert typing.params == {"chat_id": 5, "action": "typing"} and typing.cost == 0
    photo = outbound_calls(5, {"type": "telegram.photo", "photo": b"\x89PNG", "caption": "c"})[0]
    assert photo.method == "sendPhoto" and photo.params["photo"]["bytes"] == "iVBORw=="
    document = outbound_calls(5, {"type": "telegram.document", "document": "file-id"})[0]
    assert document.params == {"chat_id": 5, "document": "file-id"}


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ({"type": "telegram.message"}, "'text' must be a non-empty string"),
        ({"type": "telegram.message", "text": "   "}, "non-empty"),
        ({"type": "telegram.message", "text": "a", "parse_mode": "rst"}, "parse_mode"),
        ({"type": "telegram.message", "text": "a", "reply_markup": "[]"}, "reply_markup"),
        ({"type": "telegram.message", "text": "a", "reply_to": "3"}, "'reply_to' must be an int"),
        ({"type": "telegram.edit", "text": "a"}, "'message_id' must be an integer"),
        ({"type": "telegram.photo"}, "must be bytes"),
        ({"type": "telegram.send", "text": "a"}, "unknown telegram send event"),
    ],
)
def test_invalid_send_events_say_what_is_wrong(event: dict[str, Any], match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        outbound_calls(5, event)


# --- splitting -------------------------------------------------------------------------


def test_split_prefers_lines_then_words_then_hard_cut() -> None:
    assert split_text("short") == ["short"]
    assert split_text("aaa bbb\nccc ddd", limit=9) == ["aaa bbb\n", "ccc ddd"]
    assert split_text("aaa bbb ccc", limit=8) == ["aaa bbb ", "ccc"]
    assert split_text("abcdefghij", limit=4) == ["abcd", "efgh", "ij"]


def test_split_counts_utf16_units() -> None:
    emoji = "\U0001f600"  # two UTF-16 units
    parts = split_text(emoji * 5, limit=4)
    assert parts == [emoji * 2, emoji * 2, emoji]


@given(
    st.text(alphabet=st.sampled_from(["a", "b", " ", "\n", "é", "\U0001f600"]), max_size=400),
    st.integers(min_value=2, max_value=50),
)
def test_split_property_lossless_ordered_bounded(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert "".join(parts) == text
    assert all(utf16_len(part) <= limit for part in parts)
    assert all(part for part in parts) or text == ""
