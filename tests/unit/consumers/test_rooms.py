"""consumers.rooms: room names to group names, message validation, posting."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers import rooms
from gateway.exceptions import InvalidInput

# Channels' rule for group names, which our layers enforce too.
VALID_GROUP = re.compile(r"^[a-zA-Z0-9\-_.]{1,99}$")


@given(st.text(min_size=1, max_size=rooms.MAX_ROOM_LENGTH))
def test_any_acceptable_room_gives_a_valid_group_name(room: str) -> None:
    try:
        rooms.clean_room(room)
    except InvalidInput:
        return
    assert VALID_GROUP.match(rooms.room_group_name(room))


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=30))
def test_room_spellings_that_differ_in_case_and_spacing_share_a_group(room: str) -> None:
    assert rooms.room_group_name(room) == rooms.room_group_name(f"  {room.casefold()} ")


@given(st.from_regex(r"[A-Za-z0-9]{1,20}( [A-Za-z0-9]{1,20}){0,2}", fullmatch=True))
def test_ascii_room_names_ignore_case_and_repeated_spaces(room: str) -> None:
    assert rooms.room_group_name(room) == rooms.room_group_name(room.upper().replace(" ", "   "))


def test_rooms_with_the_same_slug_get_different_groups() -> None:
    assert rooms.room_group_name("Küche") != rooms.room_group_name("Kuche")
    assert rooms.room_group_name("a b") != rooms.room_group_name("a-b")
    assert rooms.room_group_name("###").startswith("room.room.")


@pytest.mark.parametrize(
    ("room", "error"),
    [
        ("", "room is empty"),
        ("   ", "room is empty"),
        ("x" * 65, "use at most 64"),
        ("a\x00b", "control characters"),
        (42, "room must be a string, got int"),
    ],
)
def test_bad_rooms_say_what_is_wrong(room: Any, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        rooms.room_group_name(room)


@pytest.mark.parametrize(
    ("nick", "expected"),
    [
        ("ana", "ana"),
        ("  Ana   Lee ", "Ana Lee"),
        ("o'brien-2.x_y", "o'brien-2.x_y"),
        ("Zoë", "Zoë"),
    ],
)
def test_good_nicknames_are_tidied(nick: str, expected: str) -> None:
    assert rooms.clean_nick(nick) == expected


@pytest.mark.parametrize(
    ("nick", "error"),
    [
        ("", "nickname is empty"),
        ("<script>", "letters, digits"),
        ("n" * 33, "use at most 32"),
        (None, "nickname must be a string"),
    ],
)
def test_bad_nicknames_are_refused(nick: Any, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        rooms.clean_nick(nick)


def test_room_message_has_the_shared_event_format() -> None:
    event = rooms.room_message(" Lobby ", "ana", " hi ", "telegram", 12.5)
    assert event == {
        "type": "room.message",
        "room": "Lobby",
        "sender": "ana",
        "text": "hi",
        "source": "telegram",
        "ts": 12.5,
    }


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"source": "smoke-signal"}, "source must be one of mqtt, radio, telegram, web"),
        ({"sender": " "}, "sender is empty"),
        ({"text": ""}, "message is empty"),
        ({"text": "x" * 2001}, "use at most 2000"),
        ({"text": 7}, "text must be a string"),
    ],
)
def test_room_message_refuses_bad_fields(fields: dict[str, Any], error: str) -> None:
    args = {"room": "lobby", "sender": "ana", "text": "hi", "source": "web", "ts": 0.0} | fields
    with pytest.raises(InvalidInput, match=error):
        rooms.room_message(**args)


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sent.append((group, message))


async def test_post_to_room_sends_one_event_to_the_room_group() -> None:
    layer = RecordingLayer()
    event = await rooms.post_to_room(layer, "Lobby", "N0CALL-1", "73", "radio", ts=3.0)
    assert layer.sent == [(rooms.room_group_name("lobby"), dict(event))]
    assert event["source"] == "radio"


async def test_post_to_room_sends_nothing_when_the_message_is_refused() -> None:
    layer = RecordingLayer()
    with pytest.raises(InvalidInput):
        await rooms.post_to_room(layer, "Lobby", "ana", "   ", "web")
    assert layer.sent == []
