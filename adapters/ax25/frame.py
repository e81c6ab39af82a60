"""AX.25 v2.0 frames as a KISS TNC carries them: addresses, control field, PID, info.

Sans-I/O: bytes in, :class:`Frame` out, and back. No sockets, no clocks.

Layout (AX.25 2.0, section 2.2; the flags and the FCS are the TNC's business, KISS strips them)::

    destination(7) source(7) [digipeater(7)] x 0..8  control(1)  [PID(1)]  [info]

Each address is six callsign characters shifted left one bit (space padded) and an SSID octet
``C/H R R S S S S X``: C is the command/response bit on the destination and source, H the
"has been repeated" bit on a digipeater, X marks the last address. The control field is modulo 8:
I frames ``NNN P SSS 0``, S frames ``NNN P/F TT 0 1``, U frames ``MMM P/F MM 1 1``.

:func:`decode_frame` turns any byte string into a :class:`Frame` or raises :class:`FrameError`
(never another exception: hypothesis and a 1M-input fuzz run hold it to that).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache

from gateway.exceptions import ProtocolError

__all__ = [
    "MAX_DIGIPEATERS",
    "PID_NO_LAYER3",
    "Callsign",
    "Frame",
    "FrameError",
    "FrameType",
    "Hop",
    "InvalidCallsign",
    "decode_frame",
    "encode_frame",
]

#: PID for "no layer 3 protocol": what APRS and plain text use.
PID_NO_LAYER3 = 0xF0
#: AX.25 2.0 allows at most eight digipeaters in the path.
MAX_DIGIPEATERS = 8

_ADDRESS_LEN = 7
_CALL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class FrameError(ProtocolError):
    """A frame (or a field of one) breaks AX.25; the message says which part and why."""


class InvalidCallsign(FrameError):
    """A callsign is not 1-6 letters/digits with an SSID 0-15 (e.g. ``N0CALL-5``)."""


@dataclass(frozen=True, slots=True)
class Callsign:
    """An AX.25 station address: ``call`` (1-6 of A-Z 0-9, upper case) and ``ssid`` (0-15).

    ``Callsign("BOT", 0)`` is the station written ``BOT`` or ``BOT-0``: they compare equal.
    """

    call: str
    ssid: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.call, str) or not 1 <= len(self.call) <= 6:
            raise InvalidCallsign(
                f"callsign {self.call!r} must be 1 to 6 letters or digits, like N0CALL"
            )
        if not _CALL_CHARS.issuperset(self.call):
            raise InvalidCallsign(f"callsign {self.call!r} may contain only upper-case A-Z and 0-9")
        if not isinstance(self.ssid, int) or not 0 <= self.ssid <= 15:
            raise InvalidCallsign(f"SSID of {self.call} must be 0 to 15, got {self.ssid!r}")

    @classmethod
    def parse(cls, text: str) -> Callsign:
        """Parse ``"n0call-5"`` (case-insensitive, SSID optional) into ``N0CALL-5``.

        Raises:
            InvalidCallsign: the text is not CALL or CALL-SSID with a valid call and SSID.
        """
        cleaned = text.strip().upper()
        call, dash, ssid_text = cleaned.partition("-")
        if not dash:
            return cls(call, 0)
        if not (ssid_text.isdigit() and ssid_text.isascii() and len(ssid_text) <= 2):
            raise InvalidCallsign(
                f"SSID in {text!r} must be a number 0 to 15 after the dash, like N0CALL-5"
            )
        return cls(call, int(ssid_text))

    def __str__(self) -> str:
        return self.call if self.ssid == 0 else f"{self.call}-{self.ssid}"


@dataclass(frozen=True, slots=True)
class Hop:
    """A digipeater in the path; ``repeated`` is its H bit (the frame went through it)."""

    callsign: Callsign
    repeated: bool = False

    def __str__(self) -> str:
        return f"{self.callsign}*" if self.repeated else str(self.callsign)


class FrameType(enum.Enum):
    """The frame kinds of AX.25 v2.0/2.2 (modulo-8 control field)."""

    #: Information frame (connected mode data), carries N(S), N(R), PID and info.
    I = "I"  # noqa: E741 - the name AX.25 gives it
    #: Supervisory frames: carry N(R).
    RR = "RR"
    RNR = "RNR"
    REJ = "REJ"
    SREJ = "SREJ"
    #: Unnumbered frames.
    SABM = "SABM"
    SABME = "SABME"
    DISC = "DISC"
    DM = "DM"
    UA = "UA"
    FRMR = "FRMR"
    UI = "UI"
    XID = "XID"
    TEST = "TEST"


_S_TYPES = (FrameType.RR, FrameType.RNR, FrameType.REJ, FrameType.SREJ)
_S_CODE = {t: i << 2 for i, t in enumerate(_S_TYPES)}
# U-frame control octets with the P/F bit (0x10) cleared.
_U_CODE = {
    FrameType.SABME: 0x6F,
    FrameType.SABM: 0x2F,
    FrameType.DISC: 0x43,
    FrameType.DM: 0x0F,
    FrameType.UA: 0x63,
    FrameType.FRMR: 0x87,
    FrameType.UI: 0x03,
    FrameType.XID: 0xAF,
    FrameType.TEST: 0xE3,
}
_U_TYPE = {code: t for t, code in _U_CODE.items()}
_WITH_PID = frozenset({FrameType.I, FrameType.UI})
_WITH_INFO = frozenset({FrameType.I, FrameType.UI, FrameType.FRMR, FrameType.XID, FrameType.TEST})
_WITH_NR = frozenset({FrameType.I, *_S_TYPES})

#: Info bytes shown by ``repr``; longer payloads are elided so logs stay readable.
_REPR_INFO = 64


@dataclass(frozen=True, slots=True)
class Frame:
    """One AX.25 frame.

    ``command`` is True for a command (destination C=1, source C=0) and False for a response;
    frames with both C bits equal (AX.25 v1, and Direwolf's UI frames built over AGW) decode as
    commands. ``ns`` is set on I frames, ``nr`` on I and S frames, ``pid`` on I and UI frames.
    """

    destination: Callsign
    source: Callsign
    type: FrameType
    path: tuple[Hop, ...] = ()
    command: bool = True
    poll_final: bool = False
    ns: int | None = None
    nr: int | None = None
    pid: int | None = None
    info: bytes = b""

    def __repr__(self) -> str:
        info = self.info
        shown = repr(info[:_REPR_INFO]) + (
            f"...(+{len(info) - _REPR_INFO})" if len(info) > _REPR_INFO else ""
        )
        return (
            f"Frame({self}, type={self.type.name}, command={self.command}, "
            f"poll_final={self.poll_final}, ns={self.ns}, nr={self.nr}, pid={self.pid}, "
            f"info={shown})"
        )

    def __str__(self) -> str:
        """Monitor form: ``SRC>DEST,DIGI*,...``."""
        hops = "".join(f",{hop}" for hop in self.path)
        return f"{self.source}>{self.destination}{hops}"


# -- decoding ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _decode_call(raw: bytes) -> Callsign:
    """Six shifted characters and the SSID octet's SSID bits -> Callsign (cached: few stations)."""
    chars = []
    ended = False
    for octet in raw[:6]:
        if octet & 1:
            raise FrameError(
                f"address {raw.hex(' ')} has a character octet with its low bit set; "
                "the address field ended early or the frame is corrupt"
            )
        char = octet >> 1
        if char == 0x20:
            ended = True
            continue
        if ended:
            raise InvalidCallsign(f"address {raw.hex(' ')} has a character after padding spaces")
        chars.append(chr(char))
    call = "".join(chars)
    if not call:
        raise InvalidCallsign(f"address {raw.hex(' ')} has an empty callsign")
    if not _CALL_CHARS.issuperset(call):
        raise InvalidCallsign(f"address {raw.hex(' ')} has callsign {call!r}: only A-Z 0-9 allowed")
    return Callsign(call, (raw[6] >> 1) & 0x0F)


def _address_end(data: bytes) -> int:
    """Index just past the address field (the octet whose extension bit is set)."""
    limit = min(len(data), _ADDRESS_LEN * (2 + MAX_DIGIPEATERS))
    for index in range(_ADDRESS_LEN - 1, limit, _ADDRESS_LEN):
        if data[index] & 1:
            if index == _ADDRESS_LEN - 1:
                raise FrameError("address field ends after the destination; a source is required")
            return index + 1
    if len(data) >= _ADDRESS_LEN * (2 + MAX_DIGIPEATERS):
        raise FrameError(
            f"address field has more than {MAX_DIGIPEATERS} digipeaters (no end-of-address bit "
            f"in the first {2 + MAX_DIGIPEATERS} addresses)"
        )
    raise FrameError(f"frame of {len(data)} bytes ends inside its address field")


def decode_frame(data: bytes) -> Frame:
    """Decode an AX.25 frame as KISS carries it (no flags, no FCS).

    Raises:
        FrameError: anything malformed; the message says what (an :class:`InvalidCallsign` for
            a bad address).
    """
    data = bytes(data)
    end = _address_end(data)
    if len(data) <= end:
        raise FrameError(f"frame of {len(data)} bytes has addresses but no control field")
    destination = _decode_call(data[0:7])
    source = _decode_call(data[7:14])
    path = tuple(
        Hop(_decode_call(data[i : i + 7]), bool(data[i + 6] & 0x80)) for i in range(14, end, 7)
    )
    dest_c = bool(data[6] & 0x80)
    src_c = bool(data[13] & 0x80)
    # AX.25 2.0 sec. 6.1.2: 1/0 command, 0/1 response; equal bits are the older (v1) form,
    # which Direwolf also sends for UI frames built over AGW: treat them as commands.
    command = dest_c or not src_c

    control = data[end]
    rest = data[end + 1 :]
    poll_final = bool(control & 0x10)
    if not control & 1:
        if not rest:
            raise FrameError(f"I frame from {source} has no PID octet")
        return Frame(
            destination, source, FrameType.I, path, command, poll_final,
            ns=(control >> 1) & 7, nr=control >> 5, pid=rest[0], info=rest[1:],
        )  # fmt: skip
    if control & 2 == 0:
        ftype = _S_TYPES[(control >> 2) & 3]
        if rest:
            raise FrameError(f"{ftype.name} frame from {source} has {len(rest)} unexpected bytes")
        return Frame(destination, source, ftype, path, command, poll_final, nr=control >> 5)
    utype = _U_TYPE.get(control & 0xEF)
    if utype is None:
        raise FrameError(f"unknown U-frame control octet 0x{control:02x} from {source}")
    if utype is FrameType.UI:
        if not rest:
            raise FrameError(f"UI frame from {source} has no PID octet")
        return Frame(
            destination, source, utype, path, command, poll_final, pid=rest[0], info=rest[1:]
        )
    if rest and utype not in _WITH_INFO:
        raise FrameError(f"{utype.name} frame from {source} has {len(rest)} unexpected bytes")
    return Frame(destination, source, utype, path, command, poll_final, info=rest)


# -- encoding ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _encode_call(callsign: Callsign) -> bytes:
    """Callsign -> six shifted characters + SSID octet with R bits set, C/H and X clear."""
    chars = bytes(ord(c) << 1 for c in callsign.call.ljust(6))
    return chars + bytes((0x60 | (callsign.ssid << 1),))


def _check_sequence(frame: Frame, name: str, value: int | None) -> int:
    if value is None or not 0 <= value <= 7:
        raise FrameError(f"{frame.type.name} frame needs {name} 0-7 (modulo 8), got {value!r}")
    return value


def encode_frame(frame: Frame) -> bytes:
    """Encode a :class:`Frame` for KISS (no flags, no FCS).

    Raises:
        FrameError: the frame's fields do not fit its type (missing N(R), PID on an S frame,
            more than eight digipeaters, ...): a bug in the caller.
    """
    ftype = frame.type
    if len(frame.path) > MAX_DIGIPEATERS:
        raise FrameError(f"path has {len(frame.path)} digipeaters; AX.25 allows {MAX_DIGIPEATERS}")
    if frame.pid is not None and ftype not in _WITH_PID:
        raise FrameError(f"{ftype.name} frames carry no PID, got {frame.pid!r}")
    if frame.info and ftype not in _WITH_INFO:
        raise FrameError(f"{ftype.name} frames carry no info field, got {len(frame.info)} bytes")
    if frame.ns is not None and ftype is not FrameType.I:
        raise FrameError(f"only I frames carry N(S), got ns={frame.ns!r} on {ftype.name}")
    if frame.nr is not None and ftype not in _WITH_NR:
        raise FrameError(f"{ftype.name} frames carry no N(R), got nr={frame.nr!r}")

    out = bytearray(_encode_call(frame.destination))
    out += _encode_call(frame.source)
    if frame.command:
        out[6] |= 0x80
    else:
        out[13] |= 0x80
    for hop in frame.path:
        out += _encode_call(hop.callsign)
        if hop.repeated:
            out[-1] |= 0x80
    out[-1] |= 1
    pf = 0x10 if frame.poll_final else 0
    if ftype is FrameType.I:
        ns = _check_sequence(frame, "ns", frame.ns)
        nr = _check_sequence(frame, "nr", frame.nr)
        out.append((nr << 5) | pf | (ns << 1))
    elif ftype in _S_CODE:
        nr = _check_sequence(frame, "nr", frame.nr)
        out.append((nr << 5) | pf | _S_CODE[ftype] | 1)
    else:
        out.append(_U_CODE[ftype] | pf)
    if ftype in _WITH_PID:
        pid = frame.pid
        if pid is None or not 0 <= pid <= 0xFF:
            raise FrameError(
                f"{ftype.name} frame needs a PID 0-255 (0xF0: no layer 3), got {pid!r}"
            )
        out.append(pid)
    out += frame.info
    return bytes(out)
