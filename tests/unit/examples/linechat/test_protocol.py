"""examples.linechat.protocol: bytes in, lines out, whatever way the stream is cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examples.linechat.protocol import (
    LineDecoder,
    LineTooLong,
    encode_line,
    outgoing,
)
from gateway.exceptions import LocalProtocolError, RemoteProtocolError


def test_lines_crlf_and_a_partial_one() -> None:
    decoder = LineDecoder()
    assert decoder.feed(b"hello\r\nwor") == ["hello"]
    assert decoder.feed(b"ld\n\n") == ["world", ""]
    assert decoder.feed(b"caf\xc3") == []
    assert decoder.feed(b"\xa9\n") == ["café"]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert LineDecoder().feed(b"a\xffb\n") == ["a\ufffdb"]


def test_a_line_too_long_is_refused() -> None:
    decoder = LineDecoder(max_line=4)
    assert decoder.feed(b"abcd\r\n") == ["abcd"]
    with pytest.raises(LineTooLong, match="at most 4"):
        decoder.feed(b"abcde\n")
    with pytest.raises(LineTooLong, match="without a line ending"):
        LineDecoder(max_line=4).feed(b"abcde")
    assert issubclass(LineTooLong, RemoteProtocolError)


lines = st.lists(
    st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30),
    max_size=10,
)


@given(lines, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_any_split_gives_the_same_lines(texts: list[str], cuts: list[int]) -> None:
    stream = b"".join(text.encode() + b"\r\n" for text in texts)
    decoder = LineDecoder(max_line=1000)
    got: list[str] = []
    start = 0
    for cut in sorted(min(cut, len(stream)) for cut in cuts):
        got += decoder.feed(stream[start:cut])
        start = cut
    got += decoder.feed(stream[start:])
    assert got == texts


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=50))
def test_encode_line_is_one_line_that_decodes_back(text: str) -> None:
    data = encode_line(text)
    assert data.endswith(b"\r\n") and data.count(b"\n") == 1
    assert LineDecoder().feed(data) == [" ".join(text.splitlines())]


def test_outgoing_messages() -> None:
    assert outgoing({"type": "linechat.send", "text": "hi"}) == b"hi\r\n"
    assert outgoing({"type": "linechat.close"}) is None
    with pytest.raises(LocalProtocolError, match="needs text"):
        outgoing({"type": "linechat.send", "text": b"bytes"})
    with pytest.raises(LocalProtocolError, match=r"send linechat\.send or linechat\.close"):
        outgoing({"type": "websocket.send", "text": "hi"})
