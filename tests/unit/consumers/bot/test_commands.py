"""The pure parts: command parsing, periods, help, and fitting text to radio."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.bot.commands import COMMANDS, Command, help_lines, parse, parse_period
from consumers.bot.text import APRS_TEXT, for_aprs, for_terminal, plain_ascii


def test_slash_commands_and_chat() -> None:
    assert parse("/join Ham Radio") == Command("join", ("Ham", "Radio"), "Ham Radio")
    assert parse("/history@test_bot 5") == Command("history", ("5",), "5")
    assert parse("/J lobby") == Command("join", ("lobby",), "lobby")
    assert parse("hello there") is None
    assert parse("   ") is None
    assert parse("/frobnicate") == Command("frobnicate", (), "")


def test_slash_optional_for_radio() -> None:
    assert parse("JOIN lobby", slash_optional=True) == Command("join", ("lobby",), "lobby")
    assert parse("h", slash_optional=True) == Command("help", (), "")
    # Words that are not commands stay chat, so "hello all" is said in the room.
    assert parse("hello all", slash_optional=True) is None


def test_help_lists_every_command() -> None:
    lines = help_lines()
    assert len(lines) == len(COMMANDS)
    assert "/join ROOM - join a room (leaves the current one)" in lines
    assert all(not line.startswith("/") for line in help_lines(slash=False))


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("2h", 7200), ("1d", 86400), ("90s", 90), ("15", 900)]
)
def test_periods(text: str, seconds: float) -> None:
    assert parse_period(text) == seconds


@pytest.mark.parametrize("text", ["soon", "0m", "-1h", "40d"])
def test_bad_periods_say_how(text: str) -> None:
    with pytest.raises(ValueError, match="period"):
        parse_period(text)


def test_terminal_text_is_ascii_80_columns_with_cr() -> None:
    text = for_terminal("Grüße " + "word " * 40 + "\nnext")
    lines = text.split("\r")
    assert lines[-1] == ""
    assert all(len(line) <= 80 and line.isascii() for line in lines)
    assert lines[0].startswith("Grusse word")
    assert lines[-2] == "next"


def test_aprs_parts_pack_lines_and_drop_forbidden_characters() -> None:
    parts = for_aprs("a|b~c{d\nsecond line")
    assert parts == ["a/b-c(d; second line"]


@given(st.text(max_size=400))
def test_aprs_parts_always_fit(text: str) -> None:
    parts = for_aprs(text)
    assert all(0 < len(p) <= APRS_TEXT and p.isascii() for p in parts)
    assert not any(ch in p for p in parts for ch in "|~{")
    # Nothing visible is lost: every word of the ASCII form is in some part.
    joined = " ".join(parts)
    for word in plain_ascii(text).translate(str.maketrans("|~{", "/-(")).split():
        assert all(piece in joined for piece in word.split()) or len(word) > APRS_TEXT


@given(st.text(max_size=400))
def test_terminal_lines_always_fit(text: str) -> None:
    assert all(len(line) <= 80 and line.isascii() for line in for_terminal(text).split("\r"))
