"""Rooms: the one conversation model every adapter shares.

A room is a name people type ("Lobby", "#ham-radio", "Küche"). Everyone in a room, whatever
protocol they came in on, is a member of one channel-layer group, and every message posted to
the room is one event on that group::

    {"type": "room.message", "room": "Lobby", "sender": "ana", "text": "hi",
     "source": "web", "ts": 1764474000.123}

``source`` says where the message came from ("web", "telegram", "mqtt" or "radio") so each
consumer can tag it (the web page shows a badge) and skip echoing a message back to the
protocol it came from if it wants to.

This module is pure logic apart from :func:`post_to_room`, which only awaits the layer it is
given.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from typing import Any, Literal, Protocol, TypedDict, get_args

from gateway.exceptions import InvalidInput

Source = Literal["web", "telegram", "mqtt", "radio"]
SOURCES: frozenset[str] = frozenset(get_args(Source))

#: The event type consumers handle with a ``room_message`` method.
ROOM_MESSAGE = "room.message"
MAX_ROOM_LENGTH = 64
MAX_NICK_LENGTH = 32
MAX_TEXT_LENGTH = 2000

# Group names allow ASCII letters, digits, "-", "_" and "." only, and must be shorter than
# 100 characters (Channels' rule), so the readable part is a short slug and a hash of the
# full normalised name keeps two rooms with the same slug apart ("Küche" vs "Kuche!").
_SLUG_DROP = re.compile(r"[^a-z0-9_-]+")
_SLUG_LENGTH = 40
_WHITESPACE = re.compile(r"\s+")
_NICK_ALLOWED = re.compile(r"^[\w .\-']+$")


class RoomMessage(TypedDict):
    """The event every room member receives, on the room's group."""

    type: Literal["room.message"]
    room: str
    sender: str
    text: str
    source: Source
    ts: float


class GroupSender(Protocol):
    """The part of a channel layer :func:`post_to_room` needs."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None: ...


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _clean_line(value: object, field: str, max_length: int, example: str) -> str:
    """Check a one-line name (room, nickname): a string, not empty, not too long."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string, got {type(value).__name__}")
    cleaned = _collapse(value)
    if not cleaned:
        raise InvalidInput(f"{field} is empty: type one, for example {example!r}")
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is {len(cleaned)} characters long: use at most {max_length}")
    return cleaned


def clean_room(room: object) -> str:
    """Return the display form of a room name: NFC, single spaces, no edge spaces.

    Raises:
        InvalidInput: the name is not a string, is empty, longer than MAX_ROOM_LENGTH or
            contains control characters.
    """
    cleaned = _clean_line(room, "room", MAX_ROOM_LENGTH, "lobby")
    if not cleaned.isprintable():
        raise InvalidInput("room contains control characters: use printable text only")
    return cleaned


def room_key(room: str) -> str:
    """Return the identity of a room: names differing only in case or spacing are one room."""
    return clean_room(room).casefold()


def room_group_name(room: str) -> str:
    """Return the channel-layer group name for a room.

    The result is always a valid group name (ASCII letters, digits, "-", "_", ".", under
    100 characters) and is the same for every spelling :func:`room_key` treats as equal.

    Raises:
        InvalidInput: the room name is not acceptable (see :func:`clean_room`).
    """
    key = room_key(room)
    ascii_form = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_DROP.sub("-", ascii_form).strip("-")[:_SLUG_LENGTH] or "room"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"room.{slug}.{digest}"


def clean_nick(nick: object) -> str:
    """Return a nickname with its spacing tidied.

    Raises:
        InvalidInput: the nickname is empty, too long or uses characters other than letters,
            digits, spaces and . - _ '.
    """
    cleaned = _clean_line(nick, "nickname", MAX_NICK_LENGTH, "ana")
    if not _NICK_ALLOWED.match(cleaned):
        raise InvalidInput("nickname may use letters, digits, spaces and . - _ ' only")
    return cleaned


def clean_text(text: object) -> str:
    """Return message text without edge whitespace.

    Raises:
        InvalidInput: the text is not a string, is empty or longer than MAX_TEXT_LENGTH.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"text must be a string, got {type(text).__name__}")
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("message is empty: type some text")
    if len(cleaned) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"message is {len(cleaned)} characters long: use at most {MAX_TEXT_LENGTH}"
        )
    return cleaned


def room_message(room: str, sender: str, text: object, source: str, ts: float) -> RoomMessage:
    """Build and validate a room event.

    Args:
        room: the room name as typed; it is cleaned, not case-folded, for display.
        sender: who wrote it (a nickname, a Telegram name, a device id, a callsign).
        text: the message.
        source: "web", "telegram", "mqtt" or "radio".
        ts: seconds since the epoch when the gateway received it.

    Raises:
        InvalidInput: any field is not acceptable; the message says which and why.
    """
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(sorted(SOURCES))}, got {source!r}")
    sender_clean = _collapse(sender) if isinstance(sender, str) else ""
    if not sender_clean:
        raise InvalidInput("sender is empty: say who wrote the message")
    return RoomMessage(
        type="room.message",
        room=clean_room(room),
        sender=sender_clean[:MAX_NICK_LENGTH],
        text=clean_text(text),
        source=source,  # type: ignore[typeddict-item]  # checked against SOURCES above
        ts=float(ts),
    )


async def post_to_room(
    layer: GroupSender,
    room: str,
    sender: str,
    text: object,
    source: str,
    ts: float | None = None,
) -> RoomMessage:
    """Send a message to every member of a room, on every protocol.

    Args:
        layer: the channel layer (``self.channel_layer`` in a consumer).
        room, sender, text, source: see :func:`room_message`.
        ts: when it was received; now when omitted.

    Returns:
        The event that was sent, so the caller can log or acknowledge it.

    Raises:
        InvalidInput: a field is not acceptable; nothing was sent.
        ChannelFull: the layer refused the message.
    """
    event = room_message(room, sender, text, source, time.time() if ts is None else ts)
    await layer.group_send(room_group_name(event["room"]), dict(event))
    return event
