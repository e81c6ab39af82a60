"""Reaching a conversation whose scope is gone: an address on the channel layer.

Theory of operation
-------------------

A Telegram chat or an APRS station can be written to at any time, but its application
instance (scope) lives only while it talks: the adapter closes an idle scope, and a restart
closes them all. An adapter that can reach such a conversation without a scope puts an
address in the scope::

    scope["reach"] = {"channel": "telegram.reach.123", "type": "telegram.send", "to": 42}

built with :func:`reach_address`. An application that wants to write to the conversation
later (the bot's room fan-out) keeps that dict and, whenever it has something to say, sends
:func:`reach_message` to ``reach["channel"]`` on the channel layer::

    {"type": "telegram.send", "to": 42, "text": "[lobby] ana@web: hi"}

A message may carry an image too, ``"photo"`` (bytes, PNG): an adapter that can show it
sends it with ``text`` as its caption (Telegram), one that cannot sends the text alone.

The adapter listens on that channel (:func:`serve_channel`), checks each message
(:func:`check_message`) and delivers the text to the address its own way, whether the scope
is open or not. ``ttl`` (optional) is how many seconds after the conversation's last message
the address stays good (an APRS station that was heard an hour ago may have gone off the air);
without it the address does not expire. An application that stores an address computes its
deadline with :func:`good_until` and asks :func:`is_good` before it uses it.

This module knows no protocol: adapters give the channel, the event type and the address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.backoff import Backoff
from gateway.exceptions import ChannelLayerUnavailable, InvalidMessage

__all__ = [
    "REACH_KEY",
    "ReachMessage",
    "check_message",
    "good_until",
    "is_good",
    "reach_address",
    "reach_message",
    "serve_channel",
]

logger = logging.getLogger(__name__)

#: The scope key that holds the address.
REACH_KEY = "reach"
#: The longest text a reach message carries (longer room lines are cut by the sender).
MAX_TEXT = 4096


@dataclass(frozen=True)
class ReachMessage:
    """A checked message for an adapter's reach channel: ``text`` (and an optional PNG
    ``photo`` it is the caption of) for address ``to``."""

    to: str | int
    text: str
    photo: bytes | None = None


def _check_to(to: object) -> str | int:
    if isinstance(to, bool) or not isinstance(to, str | int) or to == "":
        raise InvalidMessage(f"reach 'to' must be a non-empty str or an int, got {to!r}")
    return to


def reach_address(
    channel: str, event_type: str, to: str | int, *, ttl: float | None = None
) -> dict[str, Any]:
    """The ``scope["reach"]`` dict of a conversation an adapter can reach without a scope.

    Args:
        channel: the fixed channel-layer name the adapter listens on (no ``!``).
        event_type: the ``type`` of the messages the adapter takes there.
        to: the conversation's address on the protocol (a chat id, a callsign).
        ttl: seconds after the conversation's last message the address stays good (None:
            no limit).

    Raises:
        InvalidMessage: a field is empty or of the wrong kind (the adapter's bug).
    """
    if not channel or "!" in channel or not event_type:
        raise InvalidMessage(
            f"reach needs a fixed channel name and an event type, got {channel!r}, {event_type!r}"
        )
    address: dict[str, Any] = {"channel": channel, "type": event_type, "to": _check_to(to)}
    if ttl is not None:
        if ttl <= 0:
            raise InvalidMessage(f"reach ttl must be positive seconds, got {ttl!r}")
        address["ttl"] = float(ttl)
    return address


def reach_message(
    reach: dict[str, Any], text: str, *, photo: bytes | None = None
) -> dict[str, Any]:
    """The channel message that says ``text`` to the conversation at ``reach`` (with
    ``photo``, a PNG image, when given: ``text`` is its caption)."""
    message: dict[str, Any] = {"type": reach["type"], "to": reach["to"], "text": text[:MAX_TEXT]}
    if photo:
        message["photo"] = bytes(photo)
    return message


def good_until(reach: dict[str, Any] | None, now: float) -> float | None:
    """Until when ``reach`` stays good if the conversation's last message is at ``now``
    (None: no limit, or no address)."""
    ttl = reach.get("ttl") if reach else None
    if not isinstance(ttl, int | float) or isinstance(ttl, bool):
        return None
    return now + float(ttl)


def is_good(reach: Any, until: float | None, now: float) -> bool:
    """Whether a stored address (``until`` from :func:`good_until`) may be used at ``now``."""
    return (
        isinstance(reach, dict) and bool(reach.get("channel")) and (until is None or until >= now)
    )


def check_message(message: Any, event_type: str) -> ReachMessage:
    """Check a message taken from a reach channel.

    Raises:
        InvalidMessage: not a dict, another ``type``, no usable ``to``, an empty ``text`` or a
            ``photo`` that is not bytes; the message says which (the sender's bug: log it and
            go on).
    """
    if not isinstance(message, dict):
        raise InvalidMessage(f"a reach message must be a dict, got {type(message).__name__}")
    if message.get("type") != event_type:
        raise InvalidMessage(
            f"this reach channel takes {event_type!r} messages, got {message.get('type')!r}"
        )
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidMessage(f"{event_type}: 'text' must be a non-empty str, got {text!r}")
    photo = message.get("photo")
    if photo is not None and (not isinstance(photo, bytes | bytearray) or not photo):
        raise InvalidMessage(
            f"{event_type}: 'photo' must be non-empty bytes, got {type(photo).__name__}"
        )
    return ReachMessage(
        _check_to(message.get("to")), text[:MAX_TEXT], bytes(photo) if photo else None
    )


async def serve_channel(
    layer: Any,
    channel: str,
    event_type: str,
    deliver: Callable[[ReachMessage], Awaitable[None]],
    *,
    backoff: Backoff | None = None,
) -> None:
    """Take messages from ``channel`` and hand each checked one to ``deliver``, until cancelled.

    A bad message is logged and skipped; an error in ``deliver`` is logged and the next
    message is taken; while the layer is unreachable the loop waits with backoff.
    """
    backoff = backoff or Backoff(f"channel layer (reach channel {channel})", logger=logger)
    logger.info("reach: listening on %s for %s", channel, event_type)
    while True:
        try:
            message = await layer.receive(channel)
        except (ChannelLayerUnavailable, OSError) as exc:
            await backoff.wait(exc)
            continue
        backoff.succeeded()
        try:
            checked = check_message(message, event_type)
        except InvalidMessage as exc:
            logger.warning("reach: message on %s dropped: %s", channel, exc)
            continue
        try:
            await deliver(checked)
        except asyncio.CancelledError:
            raise
        except InvalidMessage as exc:  # an address this adapter cannot use
            logger.warning("reach: message on %s dropped: %s", channel, exc)
        except Exception:
            logger.exception("reach: delivering to %r from %s failed", checked.to, channel)
