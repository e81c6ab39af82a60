"""The web protocol's fast path: frames byte-identical to websockets', on the names it reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from adapters.web.protocol import OP_BINARY, OP_TEXT, encode_server_frame

# Lengths around both boundaries of the length encoding (125/126, 65535/65536).
payloads = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=65530, max_value=65540).map(lambda n: b"x" * n),
)


@given(st.sampled_from([OP_TEXT, OP_BINARY]), payloads)
def test_frames_match_websockets_serialize(opcode: int, payload: bytes) -> None:
    expected = Frame(Opcode(opcode), payload).serialize(mask=False, extensions=[])
    assert encode_server_frame(opcode, payload) == expected


@given(st.text(max_size=200))
def test_a_websockets_client_parses_each_text_frame_back(text: str) -> None:
    client = Protocol(Side.CLIENT, state=State.OPEN)
    client.receive_data(encode_server_frame(OP_TEXT, text.encode()))
    [frame] = client.events_received()
    assert (frame.opcode, frame.fin, frame.data.decode()) == (Opcode.TEXT, True, text)


def test_the_fast_path_reads_attributes_the_pinned_libraries_have() -> None:
    # If this fails after an upgrade, adapters/web/protocol.py's send() must be revisited.
    for name in ("handshake_complete", "close_sent", "initial_response", "disconnected"):
        assert name in WebSocketsSansIOProtocol.__init__.__code__.co_names
    for name in ("writes", "extensions", "expect_continuation_frame"):
        assert name in Protocol.__init__.__code__.co_names
    assert State.OPEN
