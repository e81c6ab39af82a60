"""AX.25 frame codec: golden vectors from Direwolf 1.6, edge cases, property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.ax25.frame import (
    Callsign,
    Frame,
    FrameError,
    FrameType,
    Hop,
    InvalidCallsign,
    decode_frame,
    encode_frame,
)

BOT1 = Callsign("BOT", 1)
OP = Callsign("N0CALL", 1)

# Captured on this machine from Direwolf 1.6 (two instances on loopback, KISS port of A; the
# KISS framing c0 00 .. c0 removed). Provenance in docs/ax25.md, "Golden vectors".
GOLDEN: list[tuple[str, Frame]] = [
    # N0CALL-1>BOT-1 SABME, command, P (Direwolf tries v2.2 first)
    (
        "84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 7f",
        Frame(BOT1, OP, FrameType.SABME, poll_final=True),
    ),
    (
        "84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 3f",
        Frame(BOT1, OP, FrameType.SABM, poll_final=True),
    ),
    # N0CALL-1>BOT-1 I, command, N(S)=0 N(R)=0, 'hello bot\r'
    (
        "84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 00 f0 68 65 6c 6c 6f 20 62 6f 74 0d",
        Frame(BOT1, OP, FrameType.I, ns=0, nr=0, pid=0xF0, info=b"hello bot\r"),
    ),
    # N0CALL-1>BOT-1 RR response N(R)=1
    (
        "84 9e a8 40 40 40 62 9c 60 86 82 98 98 e3 21",
        Frame(BOT1, OP, FrameType.RR, command=False, nr=1),
    ),
    # N0CALL-1>BOT-1 DISC command P
    (
        "84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 53",
        Frame(BOT1, OP, FrameType.DISC, poll_final=True),
    ),
]

# Frames our side sends, as Direwolf accepted them (BOT-1>N0CALL-1 DM/UA/RR responses, I command).
DM_F = Frame(OP, BOT1, FrameType.DM, command=False, poll_final=True)
UA_F = Frame(OP, BOT1, FrameType.UA, command=False, poll_final=True)
SENT: list[tuple[str, Frame]] = [
    ("9c 60 86 82 98 98 62 84 9e a8 40 40 40 e3 1f", DM_F),
    ("9c 60 86 82 98 98 62 84 9e a8 40 40 40 e3 73", UA_F),
    (
        "9c 60 86 82 98 98 62 84 9e a8 40 40 40 e3 21",
        Frame(OP, BOT1, FrameType.RR, command=False, nr=1),
    ),
    (
        "9c 60 86 82 98 98 e2 84 9e a8 40 40 40 63 20 f0"
        " 68 65 6c 6c 6f 20 6f 70 65 72 61 74 6f 72 0d",
        Frame(OP, BOT1, FrameType.I, ns=0, nr=1, pid=0xF0, info=b"hello operator\r"),
    ),
]


# APRS messages as Direwolf A delivered them on KISS after B transmitted them at 9600 baud
# (captured here with tests/integration/ax25/direwolf.py, 2026-12-05): from B's KISS port,
# and from B's AGW 'M' (unproto), which sets BOTH C bits (src octet 0xed).
APRS_KISS = (
    "82 a0 b4 b0 b2 b4 e0 9c 60 86 82 98 98 6b 03 f0"
    " 3a 42 4f 54 2d 31 20 20 20 20 3a 68 65 6c 6c 6f 7b 31 32"
)
APRS_AGW = (
    "82 a0 a4 a6 40 40 e0 9c 60 86 82 98 98 ed 03 f0"
    " 3a 42 4f 54 2d 31 20 20 20 20 3a 76 69 61 20 61 67 77 7b 33"
)


def test_golden_aprs_frames_from_direwolf() -> None:
    kiss = decode_frame(bytes.fromhex(APRS_KISS))
    assert kiss == Frame(Callsign("APZXYZ"), Callsign("N0CALL", 5), FrameType.UI,
                         pid=0xF0, info=b":BOT-1    :hello{12")  # fmt: skip
    assert encode_frame(kiss) == bytes.fromhex(APRS_KISS)
    agw = decode_frame(bytes.fromhex(APRS_AGW))
    assert agw == Frame(Callsign("APRS"), Callsign("N0CALL", 6), FrameType.UI,
                        pid=0xF0, info=b":BOT-1    :via agw{3")  # fmt: skip
    assert agw.command


@pytest.mark.parametrize(("hexbytes", "expected"), GOLDEN + SENT)
def test_golden_vectors_decode_and_encode(hexbytes: str, expected: Frame) -> None:
    data = bytes.fromhex(hexbytes)
    assert decode_frame(data) == expected
    assert encode_frame(expected) == data


def test_ui_frame_with_both_c_bits_set_decodes_as_command() -> None:
    # STYLE.md vector: Direwolf decoding N0CALL-1>APRS:hello from gen_packets (v1 C bits 1/1)
    data = bytes.fromhex("82 a0 a4 a6 40 40 e0 9c 60 86 82 98 98 e3 03 f0") + b"hello"
    frame = decode_frame(data)
    assert frame == Frame(Callsign("APRS"), OP, FrameType.UI, command=True, pid=0xF0, info=b"hello")


def test_both_c_bits_clear_decode_as_command() -> None:
    data = bytes.fromhex("82 a0 a4 a6 40 40 60 9c 60 86 82 98 98 63 03 f0")
    assert decode_frame(data).command is True


def test_digipeater_path_with_h_bits() -> None:
    frame = Frame(
        Callsign("APZBOT"),
        BOT1,
        FrameType.UI,
        path=(Hop(Callsign("WIDE1", 1), repeated=True), Hop(Callsign("WIDE2", 1))),
        pid=0xF0,
        info=b":N0CALL-7 :hi{1",
    )
    data = encode_frame(frame)
    assert data[20] & 0x80 and not data[20] & 1  # first hop: H set, not last
    assert not data[27] & 0x80 and data[27] & 1  # last hop: H clear, end of address
    assert decode_frame(data) == frame
    assert str(frame) == "BOT-1>APZBOT,WIDE1-1*,WIDE2-1"


@pytest.mark.parametrize(
    ("hexbytes", "message"),
    [
        ("", "ends inside its address field"),
        ("84 9e a8 40 40 40 e3", "ends after the destination"),
        ("84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63", "no control field"),
        ("84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 00", "no PID"),
        ("84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 03", "no PID"),
        ("84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 21 00", "unexpected bytes"),
        ("84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 3f 00", "unexpected bytes"),
        ("84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 0b", "unknown U-frame"),
        ("c2 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 3f", "only A-Z 0-9"),
        ("84 40 a8 40 40 40 e2 9c 60 86 82 98 98 63 3f", "after padding"),
        ("40 40 40 40 40 40 e2 9c 60 86 82 98 98 63 3f", "empty callsign"),
        ("85 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 3f", "low bit set"),
        ("84 9e a8 40 40 40 e2" + " 9c 60 86 82 98 98 62" * 10, "more than 8 digipeaters"),
    ],
)
def test_malformed_frames_raise_frame_error_saying_why(hexbytes: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_frame(bytes.fromhex(hexbytes))


def test_bad_callsign_is_invalid_callsign() -> None:
    with pytest.raises(InvalidCallsign):
        decode_frame(bytes.fromhex("c2 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 3f"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n0call-5", Callsign("N0CALL", 5)),
        ("BOT", Callsign("BOT", 0)),
        ("BOT-0", Callsign("BOT", 0)),
        (" bot-15 ", Callsign("BOT", 15)),
    ],
)
def test_callsign_parse(text: str, expected: Callsign) -> None:
    assert Callsign.parse(text) == expected


def test_callsign_str_hides_ssid_zero() -> None:
    assert str(Callsign.parse("BOT-0")) == "BOT"
    assert str(Callsign.parse("n0call-5")) == "N0CALL-5"


@pytest.mark.parametrize(
    "text", ["", "-1", "TOOLONG7", "BOT-16", "BOT-", "BOT-x", "B.T", "BOT-1-2", "BÖT"]
)
def test_callsign_parse_rejects_bad_text(text: str) -> None:
    with pytest.raises(InvalidCallsign):
        Callsign.parse(text)


@pytest.mark.parametrize(
    "frame",
    [
        Frame(BOT1, OP, FrameType.RR),  # no N(R)
        Frame(BOT1, OP, FrameType.I, nr=0, pid=0xF0),  # no N(S)
        Frame(BOT1, OP, FrameType.I, ns=8, nr=0, pid=0xF0),
        Frame(BOT1, OP, FrameType.UI),  # no PID
        Frame(BOT1, OP, FrameType.SABM, info=b"x"),
        Frame(BOT1, OP, FrameType.UA, pid=0xF0),
        Frame(BOT1, OP, FrameType.UA, nr=1),
        Frame(BOT1, OP, FrameType.RR, nr=1, ns=1),
        Frame(BOT1, OP, FrameType.UI, pid=0xF0, path=(Hop(OP),) * 9),
    ],
)
def test_encode_rejects_inconsistent_frames(frame: Frame) -> None:
    with pytest.raises(FrameError):
        encode_frame(frame)


def test_repr_elides_long_info() -> None:
    frame = Frame(BOT1, OP, FrameType.UI, pid=0xF0, info=b"x" * 200)
    assert "...(+136)" in repr(frame)


# -- property tests -----------------------------------------------------------------------------

callsigns = st.builds(
    Callsign,
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6),
    st.integers(0, 15),
)
seq = st.integers(0, 7)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    ftype = draw(st.sampled_from(list(FrameType)))
    fields: dict[str, object] = {}
    if ftype is FrameType.I:
        fields.update(ns=draw(seq), nr=draw(seq))
    if ftype in (FrameType.RR, FrameType.RNR, FrameType.REJ, FrameType.SREJ):
        fields["nr"] = draw(seq)
    if ftype in (FrameType.I, FrameType.UI):
        fields["pid"] = draw(st.integers(0, 255))
    if ftype in (FrameType.I, FrameType.UI, FrameType.FRMR, FrameType.XID, FrameType.TEST):
        fields["info"] = draw(st.binary(max_size=300))
    return Frame(
        draw(callsigns),
        draw(callsigns),
        ftype,
        path=tuple(draw(st.lists(st.builds(Hop, callsigns, st.booleans()), max_size=8))),
        command=draw(st.booleans()),
        poll_final=draw(st.booleans()),
        **fields,  # type: ignore[arg-type]
    )


@given(frames())
def test_encode_decode_round_trip(frame: Frame) -> None:
    assert decode_frame(encode_frame(frame)) == frame


@given(st.binary(max_size=120))
def test_any_bytes_decode_to_a_frame_or_frame_error(data: bytes) -> None:
    try:
        frame = decode_frame(data)
    except FrameError:
        return
    # whatever decodes re-encodes to the same bytes, up to the ignored R bits of the SSID octets
    assert decode_frame(encode_frame(frame)) == frame


@given(frames(), st.data())
def test_corrupted_valid_frames_never_raise_other_exceptions(
    frame: Frame, data: st.DataObject
) -> None:
    raw = bytearray(encode_frame(frame))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    try:
        decode_frame(bytes(raw))
    except FrameError:
        pass
