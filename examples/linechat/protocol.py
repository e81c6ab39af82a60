"""The linechat protocol, sans-I/O: bytes in, lines out; ASGI events and messages.

A client sends UTF-8 text lines ending in ``\\n`` (a ``\\r`` before it is dropped, so telnet
works too); each line is one ``linechat.receive`` event. The application sends
``linechat.send`` messages, each written as one line, and may end the connection with
``linechat.close``. Nothing here touches a socket or the clock.

Events of the ``linechat`` scope type (in, to the application):

- ``{"type": "linechat.connect"}``: first event of every scope;
- ``{"type": "linechat.receive", "text": str}``: one line, without its line ending;
- ``{"type": "linechat.disconnect", "reason": str}``: last event ("closed" by the client,
  "idle", "shutdown", "too_long").

Messages (out, from the application): ``{"type": "linechat.send", "text": str}`` and
``{"type": "linechat.close"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.exceptions import LocalProtocolError, RemoteProtocolError
from gateway.types import Message

__all__ = [
    "MAX_LINE",
    "LineDecoder",
    "LineTooLong",
    "connect_event",
    "disconnect_event",
    "encode_line",
    "outgoing",
    "receive_event",
]

#: Longest line accepted, in bytes, without its line ending.
MAX_LINE = 4096


class LineTooLong(RemoteProtocolError):
    """The client sent more than ``max_line`` bytes without a line ending."""


class LineDecoder:
    """Split a byte stream into text lines.

    Args:
        max_line: the longest line accepted, in bytes (without the line ending).
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[str]:
        """Add bytes received; return the lines they complete, in order.

        Invalid UTF-8 is replaced (U+FFFD), never fatal: one bad byte must not end a chat.

        Raises:
            LineTooLong: a line grew past ``max_line`` bytes; the connection should be closed
                (the lines completed before it are lost with the buffer).
        """
        buffer = self._buffer
        buffer += data
        lines: list[str] = []
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buffer[start:end])
            start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.max_line:
                raise LineTooLong(f"a line of {len(line)} bytes; at most {self.max_line}")
            lines.append(line.decode("utf-8", "replace"))
        del buffer[:start]
        if len(buffer) > self.max_line:
            raise LineTooLong(
                f"{len(buffer)} bytes without a line ending; lines are at most {self.max_line}"
            )
        return lines


def encode_line(text: str) -> bytes:
    """One line for the client: the text (line breaks inside it become spaces) and ``\\r\\n``."""
    return " ".join(text.splitlines()).encode("utf-8") + b"\r\n"


def connect_event() -> Message:
    """The first event of a scope."""
    return {"type": "linechat.connect"}


def receive_event(text: str) -> Message:
    """The event for one line the client sent."""
    return {"type": "linechat.receive", "text": text}


def disconnect_event(reason: str) -> Message:
    """The last event of a scope ("closed", "idle", "shutdown", "too_long")."""
    return {"type": "linechat.disconnect", "reason": reason}


def outgoing(message: Mapping[str, Any]) -> bytes | None:
    """What to write for a message the application sent: the line's bytes, or None to close.

    Raises:
        LocalProtocolError: not a ``linechat.send`` with a str ``text`` or a
            ``linechat.close``; the message says what to send.
    """
    kind = message.get("type")
    if kind == "linechat.send":
        text = message.get("text")
        if not isinstance(text, str):
            raise LocalProtocolError(f"linechat.send needs text (a str), got {type(text).__name__}")
        return encode_line(text)
    if kind == "linechat.close":
        return None
    raise LocalProtocolError(
        f"a linechat scope cannot send {kind!r}: send linechat.send or linechat.close"
    )
