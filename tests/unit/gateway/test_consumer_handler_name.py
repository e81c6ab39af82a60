"""get_handler_name: event type -> method name, as in Channels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.consumer import get_handler_name
from gateway.exceptions import UnknownEventType


def test_dots_become_underscores() -> None:
    assert get_handler_name({"type": "websocket.receive"}) == "websocket_receive"
    assert get_handler_name({"type": "chat.send_message"}) == "chat_send_message"


@pytest.mark.parametrize("message", [{}, {"type": None}, {"type": 3}])
def test_a_message_without_a_type_string_is_rejected(message: dict[str, object]) -> None:
    with pytest.raises(UnknownEventType, match="no 'type' string"):
        get_handler_name(message)


@given(st.text(min_size=1).filter(lambda text: text[0] not in "_."))
def test_any_type_maps_to_its_dot_free_name(message_type: str) -> None:
    name = get_handler_name({"type": message_type})
    assert "." not in name
    assert name == message_type.replace(".", "_")
    assert len(name) == len(message_type)


@given(st.sampled_from("_."), st.text())
def test_a_leading_underscore_or_dot_is_always_rejected(first: str, rest: str) -> None:
    message_type = first + rest
    with pytest.raises(UnknownEventType, match="leading underscore"):
        get_handler_name({"type": message_type})


def test_unknown_event_type_is_a_value_error_like_in_channels() -> None:
    with pytest.raises(ValueError):
        get_handler_name({"type": "_private"})


@pytest.mark.parametrize("message_type", ["_private", ".private"])
def test_leading_underscore_error_has_channels_text(message_type: str) -> None:
    # Channels' tests: pytest.raises(ValueError, match=r"Malformed type in message \(leading
    # underscore\)").
    with pytest.raises(ValueError, match=r"Malformed type in message \(leading underscore\)"):
        get_handler_name({"type": message_type})
