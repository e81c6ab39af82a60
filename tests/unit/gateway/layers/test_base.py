"""Channel and group name validation: each rule, with hypothesis for the character rules."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.exceptions import InvalidChannelName, InvalidMessage
from gateway.layers import BaseChannelLayer

ALLOWED = string.ascii_letters + string.digits + "-_."
layer = BaseChannelLayer()


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        (5, "must be a str, got int"),
        (b"bytes", "must be a str, got bytes"),
        ("", "must not be empty"),
        ("a" * 100, "shorter than 100 characters, got 100"),
        ("has space", "got ' ' at position 3"),
        ("caf\u00e9", "got '\u00e9' at position 3"),
        ("a!b!c", "at most one '!'"),
        ("!abc", "at least one character before its '!'"),
    ],
)
def test_bad_channel_names_say_which_rule(name: object, rule: str) -> None:
    with pytest.raises(InvalidChannelName, match=rule):
        layer.require_valid_channel_name(name)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        (None, "group name must be a str, got NoneType"),
        ("", "group name must not be empty"),
        ("g" * 150, "shorter than 100"),
        ("room/1", "got '/' at position 4"),
        ("room!1", "may not contain '!'"),
    ],
)
def test_bad_group_names_say_which_rule(name: object, rule: str) -> None:
    with pytest.raises(InvalidChannelName, match=rule):
        layer.require_valid_group_name(name)


def test_invalid_name_is_a_type_error_as_in_channels() -> None:
    with pytest.raises(TypeError):
        layer.require_valid_channel_name("bad name")


def test_error_shows_long_names_shortened() -> None:
    with pytest.raises(InvalidChannelName) as info:
        layer.require_valid_channel_name("x" * 500)
    assert "..." in str(info.value)
    assert len(str(info.value)) < 300


def test_receive_names_must_end_at_the_bang() -> None:
    assert layer.require_valid_channel_name("specific.abc!", receive=True)
    assert layer.require_valid_channel_name("specific.abc!def")
    with pytest.raises(InvalidChannelName, match=r"receive\(\) must end at the '!'"):
        layer.require_valid_channel_name("specific.abc!def", receive=True)


def test_valid_channel_names_needs_a_non_empty_list() -> None:
    assert layer.valid_channel_names(["a", "b!c"])
    with pytest.raises(InvalidChannelName, match="non-empty list"):
        layer.valid_channel_names([])
    with pytest.raises(InvalidChannelName, match="non-empty list"):
        layer.valid_channel_names("abc")  # type: ignore[arg-type]


def test_messages_must_be_dicts_without_the_reserved_key() -> None:
    layer.require_valid_message({"type": "x"})
    with pytest.raises(InvalidMessage, match="must be a dict, got list"):
        layer.require_valid_message(["type", "x"])
    with pytest.raises(InvalidMessage, match="__asgi_channel__"):
        layer.require_valid_message({"__asgi_channel__": "x"})


def test_non_local_name() -> None:
    assert layer.non_local_name("specific.abc!def") == "specific.abc!"
    assert layer.non_local_name("plain.name") == "plain.name"


def test_capacity_patterns_first_match_wins() -> None:
    import re

    custom = BaseChannelLayer(
        capacity=7, channel_capacity={"http.*": 2, re.compile(r"^ws\.\d+$"): 3, "http.x": 9}
    )
    assert custom.get_capacity("http.x") == 2
    assert custom.get_capacity("ws.42") == 3
    assert custom.get_capacity("other") == 7


@given(
    st.text(alphabet=ALLOWED, min_size=1, max_size=60),
    st.one_of(st.none(), st.text(alphabet=ALLOWED, max_size=30)),
)
def test_names_from_the_allowed_alphabet_are_valid(head: str, local: str | None) -> None:
    name = head if local is None else f"{head}!{local}"
    assert layer.require_valid_channel_name(name)
    assert layer.require_valid_group_name(head)


@given(
    st.text(alphabet=ALLOWED, max_size=40),
    st.characters(blacklist_characters=ALLOWED + "!"),
    st.text(alphabet=ALLOWED, max_size=40),
)
def test_any_other_character_is_refused_and_shown(before: str, bad: str, after: str) -> None:
    name = before + bad + after
    with pytest.raises(InvalidChannelName) as info:
        layer.require_valid_channel_name(name)
    assert repr(bad) in str(info.value) or "shorter than" in str(info.value)
    with pytest.raises(InvalidChannelName):
        layer.require_valid_group_name(name)


@given(st.text(alphabet=ALLOWED, min_size=100, max_size=200))
def test_long_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidChannelName, match="shorter than 100"):
        layer.require_valid_channel_name(name)
