"""APRS messages, acks and rejects (APRS 1.0.1 chapter 14, reply-acks from the APRS 1.1 addendum).

Sans-I/O: the info field of a UI frame in, a message value out, and back::

    :ADDRESSEE:text of the message{NNNNN      a numbered message (addressee padded to 9)
    :ADDRESSEE:text{MM}AA                     the same, carrying a reply-ack for our message AA
    :ADDRESSEE:ackNNNNN  /  :ADDRESSEE:rejNNNNN

Message text is at most 67 characters and may not contain ``|``, ``~`` or ``{``;
:func:`split_text` cuts a longer reply into parts and :func:`clean_text` replaces what may not be
sent. Positions, weather and the other APRS packet types are not parsed: :func:`parse` returns
None for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.exceptions import ProtocolError

__all__ = [
    "MAX_TEXT",
    "AprsAck",
    "AprsError",
    "AprsMessage",
    "AprsReject",
    "clean_text",
    "encode_ack",
    "encode_message",
    "encode_reject",
    "parse",
    "split_text",
]

#: Longest message text APRS allows (APRS 1.0.1 p. 71).
MAX_TEXT = 67
_MSGNO = re.compile(r"[A-Za-z0-9]{1,5}")
# text, then an optional {MM or {MM}AA (AA may be empty: "I understand reply-acks").
_TEXT = re.compile(r"(.*?)(?:\{([A-Za-z0-9]{1,5})(?:\}([A-Za-z0-9]{0,5}))?)?", re.DOTALL)
_ACK = re.compile(r"(ack|rej)([A-Za-z0-9]{1,5})(?:\}[A-Za-z0-9]{0,5})?")
_FORBIDDEN = str.maketrans({"{": "(", "}": ")", "|": "!", "~": "-"})


class AprsError(ProtocolError):
    """A packet looked like an APRS message but is malformed; the message says how."""


@dataclass(frozen=True, slots=True)
class AprsMessage:
    """A message to ``addressee``; ``msgno`` None means unnumbered (no ack expected).

    ``reply_ack`` is the number of one of OUR messages the sender acknowledges with this one
    (reply-ack form ``{MM}AA``); "" when the sender only says it understands reply-acks.
    """

    addressee: str
    text: str
    msgno: str | None = None
    reply_ack: str | None = None


@dataclass(frozen=True, slots=True)
class AprsAck:
    """``addressee`` acknowledges message ``msgno`` sent to it."""

    addressee: str
    msgno: str


@dataclass(frozen=True, slots=True)
class AprsReject:
    """``addressee`` rejects message ``msgno`` (it cannot handle it); stop re-sending it."""

    addressee: str
    msgno: str


AprsPacket = AprsMessage | AprsAck | AprsReject


def parse(info: bytes) -> AprsPacket | None:
    """Parse a UI frame's info field.

    Returns:
        The message, ack or reject; None when the packet is not an APRS message (a position,
        a status, ...).

    Raises:
        AprsError: it starts like a message (``:``) but the addressee field is malformed.
    """
    if not info.startswith(b":"):
        return None
    if len(info) < 11 or info[10:11] != b":":
        raise AprsError(
            f"APRS message {info[:20]!r} needs ':' + a 9-character addressee + ':' "
            "(the addressee is padded with spaces)"
        )
    addressee = info[1:10].decode("ascii", "replace").strip().upper()
    if not addressee:
        raise AprsError("APRS message has an empty addressee")
    # Strip the line end some terminals append; APRS text itself never ends in CR/LF.
    body = info[11:].rstrip(b"\r\n").decode("utf-8", "replace")
    acked = _ACK.fullmatch(body)
    if acked:
        kind, msgno = acked.groups()
        return (AprsAck if kind == "ack" else AprsReject)(addressee, msgno)
    match = _TEXT.fullmatch(body)
    assert match is not None  # the pattern matches any string
    text, msgno, reply_ack = match.groups()
    return AprsMessage(addressee, text, msgno, reply_ack)


def _addressee_field(addressee: str) -> bytes:
    if not 1 <= len(addressee) <= 9 or not addressee.isascii():
        raise AprsError(f"APRS addressee must be 1-9 ASCII characters, got {addressee!r}")
    return b":" + addressee.upper().ljust(9).encode("ascii") + b":"


def _check_msgno(msgno: str) -> str:
    if not _MSGNO.fullmatch(msgno):
        raise AprsError(f"APRS message number must be 1-5 letters or digits, got {msgno!r}")
    return msgno


def encode_message(
    addressee: str, text: str, msgno: str | None = None, reply_ack: str | None = None
) -> bytes:
    """The info field of a message; ``text`` must already be clean and at most 67 characters.

    ``reply_ack`` (only with ``msgno``) acknowledges the addressee's message in the same packet.
    """
    if len(text) > MAX_TEXT or clean_text(text) != text:
        raise AprsError(
            f"APRS message text must be at most {MAX_TEXT} printable ASCII characters without "
            f"'{{', '|' or '~': use split_text() first; got {text!r}"
        )
    info = _addressee_field(addressee) + text.encode("ascii")
    if msgno is not None:
        info += b"{" + _check_msgno(msgno).encode("ascii")
        if reply_ack is not None:
            info += b"}" + (_check_msgno(reply_ack).encode("ascii") if reply_ack else b"")
    return info


def encode_ack(addressee: str, msgno: str) -> bytes:
    """The info field acknowledging ``addressee``'s message ``msgno``."""
    return _addressee_field(addressee) + b"ack" + _check_msgno(msgno).encode("ascii")


def encode_reject(addressee: str, msgno: str) -> bytes:
    """The info field rejecting ``addressee``'s message ``msgno``."""
    return _addressee_field(addressee) + b"rej" + _check_msgno(msgno).encode("ascii")


def clean_text(text: str) -> str:
    """Replace what APRS text may not carry: ``{|~`` and ``}`` by look-alikes, anything that is
    not printable ASCII (line ends, tabs, accents, emoji) by a space or ``?``."""
    text = text.translate(_FORBIDDEN)
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        c if c.isascii() and c.isprintable() else (" " if c.isspace() else "?") for c in text
    )


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Clean ``text`` and cut it into parts of at most ``limit`` characters, at spaces when a
    word boundary is near enough, else mid-word. Empty text gives no parts."""
    text = " ".join(clean_text(text).split())
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        if cut <= 0:
            parts.append(text[:limit])
            text = text[limit:]
        else:
            parts.append(text[:cut])
            text = text[cut + 1 :]
    if text:
        parts.append(text)
    return parts
