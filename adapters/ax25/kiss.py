"""KISS framing between a host and a TNC (K9NG/KA9Q, 1987). Sans-I/O: bytes in, frames out.

A KISS frame is ``FEND command payload FEND``; FEND and FESC inside are escaped as
``FESC TFEND`` / ``FESC TFESC``. The command octet is ``port << 4 | code``: code 0 carries an
AX.25 frame, 1-5 set the TNC's channel-access parameters (TXDELAY, P, SLOTTIME, TXtail,
FULLDUP), 0xFF (the whole octet) leaves KISS mode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from gateway.exceptions import ConfigurationError, ProtocolError

__all__ = [
    "FEND",
    "FESC",
    "TFEND",
    "TFESC",
    "Command",
    "KissDecoder",
    "KissError",
    "KissFrame",
    "KissParameters",
    "encode_command",
    "encode_data",
]

FEND = 0xC0
FESC = 0xDB
TFEND = 0xDC
TFESC = 0xDD

#: Longest frame the decoder buffers before it gives up on a missing FEND (AX.25 frames are
#: at most ~330 bytes; Direwolf accepts up to 2048).
MAX_FRAME = 4096


class Command(enum.IntEnum):
    """KISS command codes (low nibble of the command octet)."""

    DATA = 0
    TXDELAY = 1
    PERSIST = 2
    SLOTTIME = 3
    TXTAIL = 4
    FULLDUP = 5
    SETHARDWARE = 6
    RETURN = 0xFF


class KissError(ProtocolError):
    """A KISS frame was malformed (bad escape, no FEND for too long) and was dropped."""


class KissFrame(NamedTuple):
    """One decoded KISS frame: the TNC port (0-15), the command code, the unescaped payload."""

    port: int
    command: int
    payload: bytes


_ESCAPES = {TFEND: FEND, TFESC: FESC}


class KissDecoder:
    """Splits a byte stream from the TNC into :class:`KissFrame` values.

    Bytes before the first FEND are discarded (the tail of a frame sent before we opened the
    port). A malformed frame is dropped, not raised: it is kept in :meth:`errors` so the driver
    can log and count it, and decoding goes on with the next frame.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._in_frame = False  # a FEND was seen: bytes belong to a frame
        self._escaped = False
        self._bad: str | None = None  # why the current frame will be dropped
        self._errors: list[KissError] = []

    def feed(self, data: bytes) -> list[KissFrame]:
        """Feed bytes read from the TNC; returns the frames they completed, in order.

        Then call :meth:`errors` to learn about dropped frames.
        """
        frames: list[KissFrame] = []
        buffer = self._buffer
        start = 0
        size = len(data)
        while start < size:
            if not self._in_frame:
                fend = data.find(FEND, start)
                if fend < 0:
                    return frames  # noise between frames
                self._in_frame = True
                start = fend + 1
                continue
            fend = data.find(FEND, start)
            chunk = data[start:] if fend < 0 else data[start:fend]
            self._append(chunk)
            if fend < 0:
                return frames
            start = fend + 1
            if self._escaped:
                self._fail("FESC right before FEND")
                self._escaped = False
            if self._bad is not None:
                self._errors.append(KissError(f"dropped KISS frame: {self._bad}"))
                self._bad = None
            elif buffer:  # FEND FEND is an empty frame: ignored
                frames.append(_kiss_frame(buffer))
            buffer.clear()
            # the FEND that ends a frame also opens the next one
        return frames

    def _append(self, chunk: bytes) -> None:
        if self._bad is not None:
            return
        buffer = self._buffer
        if FESC not in chunk and not self._escaped:
            buffer += chunk
        else:
            for octet in chunk:
                if self._escaped:
                    self._escaped = False
                    original = _ESCAPES.get(octet)
                    if original is None:
                        self._fail(f"FESC followed by 0x{octet:02x} (expected TFEND or TFESC)")
                        return
                    buffer.append(original)
                elif octet == FESC:
                    self._escaped = True
                else:
                    buffer.append(octet)
        if len(buffer) > self.max_frame:
            self._fail(f"longer than {self.max_frame} bytes without FEND")

    def _fail(self, reason: str) -> None:
        self._bad = reason
        self._buffer.clear()

    def errors(self) -> list[KissError]:
        """The frames dropped since the last call, as errors saying why (then forgotten)."""
        errors, self._errors = self._errors, []
        return errors


def _kiss_frame(buffer: bytearray) -> KissFrame:
    command = buffer[0]
    if command == Command.RETURN:
        return KissFrame(0, Command.RETURN, bytes(buffer[1:]))
    return KissFrame(command >> 4, command & 0x0F, bytes(buffer[1:]))


def _escape(data: bytes) -> bytes:
    if FESC in data:
        data = data.replace(bytes((FESC,)), bytes((FESC, TFESC)))
    if FEND in data:
        data = data.replace(bytes((FEND,)), bytes((FESC, TFEND)))
    return data


def encode_data(payload: bytes, port: int = 0) -> bytes:
    """A KISS data frame carrying ``payload`` (an encoded AX.25 frame) to TNC ``port``."""
    if not 0 <= port <= 15:
        raise ConfigurationError(f"KISS port must be 0-15, got {port}")
    # The command octet is escaped too: port 12 makes it 0xC0 (FEND).
    return b"\xc0" + _escape(bytes((port << 4 | Command.DATA,)) + payload) + b"\xc0"


def encode_command(command: Command, value: int, port: int = 0) -> bytes:
    """A KISS parameter command (TXDELAY..FULLDUP, SETHARDWARE) with a one-octet value."""
    if command in (Command.DATA, Command.RETURN):
        raise ConfigurationError(f"{command.name} is not a parameter command")
    if not 0 <= value <= 255:
        raise ConfigurationError(f"KISS {command.name} value must be 0-255, got {value}")
    if not 0 <= port <= 15:
        raise ConfigurationError(f"KISS port must be 0-15, got {port}")
    return b"\xc0" + _escape(bytes((port << 4 | command, value))) + b"\xc0"


@dataclass(frozen=True)
class KissParameters:
    """Channel-access parameters sent to the TNC on every (re)connect; None = leave the TNC's.

    Units as in KISS: ``txdelay`` and ``txtail`` in 10 ms steps, ``persist`` 0-255 (p*256-1),
    ``slottime`` in 10 ms steps, ``fullduplex`` a flag.
    """

    txdelay: int | None = None
    persist: int | None = None
    slottime: int | None = None
    txtail: int | None = None
    fullduplex: bool | None = None

    def __post_init__(self) -> None:
        for name in ("txdelay", "persist", "slottime", "txtail"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 255:
                raise ConfigurationError(f"KISS {name} must be 0-255, got {value}")

    def encode(self, port: int = 0) -> bytes:
        """The KISS commands setting every parameter that is not None, for ``port``."""
        out = b""
        for command, value in (
            (Command.TXDELAY, self.txdelay),
            (Command.PERSIST, self.persist),
            (Command.SLOTTIME, self.slottime),
            (Command.TXTAIL, self.txtail),
            (Command.FULLDUP, None if self.fullduplex is None else int(self.fullduplex)),
        ):
            if value is not None:
                out += encode_command(command, value, port)
        return out
