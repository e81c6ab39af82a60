"""KISS framing: escapes, ports, commands, noise and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.ax25.kiss import (
    Command,
    KissDecoder,
    KissFrame,
    KissParameters,
    encode_command,
    encode_data,
)
from gateway.exceptions import ConfigurationError

# Direwolf 1.6, KISS TCP of instance A: BOT-1>N0CALL-1 DM as it went out (harness capture).
DIREWOLF_KISS = bytes.fromhex("c0 00 9c 60 86 82 98 98 62 84 9e a8 40 40 40 e3 1f c0")


def test_direwolf_frame() -> None:
    assert KissDecoder().feed(DIREWOLF_KISS) == [KissFrame(0, Command.DATA, DIREWOLF_KISS[2:-1])]


def test_kiss_escape_split_across_reads() -> None:
    decoder = KissDecoder()
    assert decoder.feed(b"\xc0\x00ab\xdb") == []
    assert decoder.feed(b"\xdc\xc0") == [KissFrame(port=0, command=0, payload=b"ab\xc0")]


@pytest.mark.parametrize("split", range(1, 12))
def test_every_split_offset_gives_the_same_frames(split: int) -> None:
    stream = encode_data(b"a\xc0b\xdbc", port=2) + encode_data(b"xyz")
    decoder = KissDecoder()
    frames = decoder.feed(stream[:split]) + decoder.feed(stream[split:])
    assert frames == [KissFrame(2, 0, b"a\xc0b\xdbc"), KissFrame(0, 0, b"xyz")]


def test_bytes_before_the_first_fend_are_stale_and_dropped() -> None:
    decoder = KissDecoder()
    assert decoder.feed(b"tail of an old frame\xc0" + encode_data(b"new")[1:]) == [
        KissFrame(0, 0, b"new")
    ]
    assert decoder.errors() == []


def test_empty_frames_between_fends_are_ignored() -> None:
    assert KissDecoder().feed(b"\xc0\xc0\xc0\x00hi\xc0\xc0") == [KissFrame(0, 0, b"hi")]


def test_bad_escape_drops_that_frame_only() -> None:
    decoder = KissDecoder()
    frames = decoder.feed(b"\xc0\x00a\xdbXb\xc0\x00ok\xc0")
    assert frames == [KissFrame(0, 0, b"ok")]
    errors = decoder.errors()
    assert len(errors) == 1 and "FESC followed by 0x58" in str(errors[0])
    assert decoder.errors() == []


def test_fesc_before_fend_is_an_error() -> None:
    decoder = KissDecoder()
    assert decoder.feed(b"\xc0\x00a\xdb\xc0") == []
    assert "FESC right before FEND" in str(decoder.errors()[0])


def test_overlong_frame_dropped_and_decoder_recovers() -> None:
    decoder = KissDecoder(max_frame=10)
    assert decoder.feed(b"\xc0\x00" + b"x" * 20 + b"\xc0\x00ok\xc0") == [KissFrame(0, 0, b"ok")]
    assert "longer than 10 bytes" in str(decoder.errors()[0])


def test_return_command() -> None:
    assert KissDecoder().feed(b"\xc0\xff\xc0") == [KissFrame(0, Command.RETURN, b"")]


def test_parameter_commands() -> None:
    assert encode_command(Command.TXDELAY, 30) == b"\xc0\x01\x1e\xc0"
    assert encode_command(Command.PERSIST, 0xC0, port=1) == b"\xc0\x12\xdb\xdc\xc0"
    params = KissParameters(txdelay=5, persist=255, slottime=0, txtail=2, fullduplex=False)
    assert params.encode() == (
        b"\xc0\x01\x05\xc0\xc0\x02\xff\xc0\xc0\x03\x00\xc0\xc0\x04\x02\xc0\xc0\x05\x00\xc0"
    )
    assert KissParameters().encode() == b""


@pytest.mark.parametrize("value", [-1, 256])
def test_parameter_out_of_range(value: int) -> None:
    with pytest.raises(ConfigurationError, match="0-255"):
        KissParameters(txdelay=value)
    with pytest.raises(ConfigurationError):
        encode_command(Command.SLOTTIME, value)


def test_data_is_not_a_parameter_command() -> None:
    with pytest.raises(ConfigurationError):
        encode_command(Command.DATA, 0)


@given(st.lists(st.binary(min_size=0, max_size=300), max_size=5), st.integers(0, 15), st.data())
def test_round_trip_through_arbitrary_chunking(
    payloads: list[bytes], port: int, data: st.DataObject
) -> None:
    stream = b"".join(encode_data(p, port) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    decoder = KissDecoder()
    frames = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        frames += decoder.feed(stream[start:end])
    assert frames == [KissFrame(port, 0, p) for p in payloads]
    assert decoder.errors() == []


@given(st.binary(max_size=500))
def test_any_bytes_never_raise(data: bytes) -> None:
    decoder = KissDecoder(max_frame=64)
    for frame in decoder.feed(data):
        assert 0 <= frame.port <= 15
    decoder.errors()
