"""APRS message codec: messages, numbers, acks, rejects, reply-acks, text rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.ax25.aprs import (
    MAX_TEXT,
    AprsAck,
    AprsError,
    AprsMessage,
    AprsReject,
    clean_text,
    encode_ack,
    encode_message,
    encode_reject,
    parse,
    split_text,
)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        # the info field of the harness demo (Direwolf carried it byte for byte)
        (b":N0CALL-7 :hello from the bot{1", AprsMessage("N0CALL-7", "hello from the bot", "1")),
        (b":BOT-1    :ack1", AprsAck("BOT-1", "1")),
        (b":BOT-1    :rej42", AprsReject("BOT-1", "42")),
        (b":BOT-1    :no number", AprsMessage("BOT-1", "no number")),
        (b":BOT-1    :hi{AB}12", AprsMessage("BOT-1", "hi", "AB", "12")),
        (b":BOT-1    :hi{7}", AprsMessage("BOT-1", "hi", "7", "")),
        (b":BOT-1    :ack3}4", AprsAck("BOT-1", "3")),
        (b":bot-1    :help{12345\r\n", AprsMessage("BOT-1", "help", "12345")),
        (b":BOT-1    :", AprsMessage("BOT-1", "")),
        (b":BOT-1    :a{b{123456", AprsMessage("BOT-1", "a{b{123456")),  # 6 chars: no msgno
    ],
)
def test_parse(info: bytes, expected: object) -> None:
    assert parse(info) == expected


@pytest.mark.parametrize("info", [b"!4903.50N/07201.75W-", b">status", b"", b"hello"])
def test_not_a_message(info: bytes) -> None:
    assert parse(info) is None


@pytest.mark.parametrize("info", [b":BOT-1:hi", b":BOT-1    hi", b":         :hi"])
def test_malformed_addressee(info: bytes) -> None:
    with pytest.raises(AprsError):
        parse(info)


def test_encode() -> None:
    assert encode_message("n0call-7", "hello", "1") == b":N0CALL-7 :hello{1"
    assert encode_message("N0CALL-7", "hello") == b":N0CALL-7 :hello"
    assert encode_message("N0CALL-7", "hi", "5", "9") == b":N0CALL-7 :hi{5}9"
    assert encode_ack("N0CALL-7", "12") == b":N0CALL-7 :ack12"
    assert encode_reject("N0CALL-7", "12") == b":N0CALL-7 :rej12"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("N0CALL", "x" * 68), "at most 67"),
        (("N0CALL", "a{b"), "without"),
        (("N0CALL", "hi", "123456"), "1-5 letters"),
        (("TOOLONGADDR", "hi"), "1-9 ASCII"),
    ],
)
def test_encode_rejects(args: tuple[str, ...], match: str) -> None:
    with pytest.raises(AprsError, match=match):
        encode_message(*args)


def test_clean_text() -> None:
    assert clean_text("a{b}c|d~e") == "a(b)c!d-e"
    assert clean_text("tab\there, café 🎉") == "tab here, caf? ?"


def test_split_text_at_word_boundaries() -> None:
    text = " ".join(["word"] * 40)  # 199 characters
    parts = split_text(text)
    assert all(len(p) <= MAX_TEXT for p in parts)
    assert " ".join(parts) == text
    assert len(parts) == 4  # 13 words (64 characters) fit in a part


def test_split_text_long_word() -> None:
    assert split_text("x" * 150) == ["x" * 67, "x" * 67, "x" * 16]
    assert split_text("   ") == []


@given(st.text(max_size=400))
def test_split_parts_are_sendable(text: str) -> None:
    for part in split_text(text):
        assert 0 < len(part) <= MAX_TEXT
        encode_message("N0CALL", part, "1")


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=67),
       st.from_regex(r"[A-Za-z0-9]{1,5}", fullmatch=True))  # fmt: skip
def test_message_round_trip(text: str, msgno: str) -> None:
    text = clean_text(text)
    parsed = parse(encode_message("BOT-1", text, msgno))
    assert isinstance(parsed, AprsMessage | AprsAck | AprsReject)
    if isinstance(parsed, AprsMessage):
        assert parsed.text == text.rstrip("\r\n") and parsed.msgno == msgno


@given(st.binary(max_size=120))
def test_any_info_parses_or_raises_aprs_error(info: bytes) -> None:
    try:
        parse(info)
    except AprsError:
        pass
