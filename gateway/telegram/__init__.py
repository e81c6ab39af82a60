"""Protocol-neutral Telegram pieces consumers and tests may use (no adapter imports).

The scope of a chat and the command syntax are defined here once: the Telegram adapter
(``adapters/telegram``) builds its scopes with :func:`build_scope`, and
:class:`gateway.testing.TelegramCommunicator` builds the same scope in-process. Every key is
described in docs/specs/telegram.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, NotRequired, TypedDict

SPEC_VERSION = "1.0"


class TelegramChat(TypedDict):
    """``scope["chat"]``."""

    id: int
    type: str  # "private", "group", "supergroup", "channel"
    title: str | None


class TelegramMessageEvent(TypedDict):
    """``telegram.message`` / ``telegram.edited_message`` (receive)."""

    type: Literal["telegram.message", "telegram.edited_message"]
    update_id: int
    message_id: int
    text: str | None
    # "from" is a keyword: read it as event["from"].
    entities: list[dict[str, Any]]
    reply_to: int | None
    kind: str
    command: NotRequired[str]
    args: NotRequired[list[str]]


class TelegramSendMessage(TypedDict):
    """``telegram.message`` (send): a message to the scope's chat."""

    type: Literal["telegram.message"]
    text: str
    parse_mode: NotRequired[str]
    reply_markup: NotRequired[dict[str, Any]]
    reply_to: NotRequired[int]


def build_scope(
    chat: dict[str, Any], user: dict[str, Any] | None, bot: dict[str, Any]
) -> dict[str, Any]:
    """The ASGI scope of one chat: ``type``, ``chat``, ``chat_id``, ``user``, ``bot``."""
    return {
        "type": "telegram",
        "asgi": {"version": "3.0", "spec_version": SPEC_VERSION},
        "spec_version": SPEC_VERSION,
        "chat": dict(chat),
        "chat_id": chat["id"],
        "user": dict(user) if user else None,
        "bot": dict(bot),
    }


def parse_command(text: str, entities: Iterable[Any] = ()) -> tuple[str, list[str]] | None:
    """``"/start@my_bot a b"`` -> ``("start", ["a", "b"])``; None when not a command.

    ``entities`` are the message's entities (objects with ``type`` and ``offset``, or dicts):
    when there are some, a ``bot_command`` entity at offset 0 decides; without entities
    (tests, clients that omit them) a leading ``/`` followed by a word does.
    """
    if not text.startswith("/"):
        return None
    listed = list(entities)
    if listed and not any(
        _get(e, "type") == "bot_command" and _get(e, "offset") == 0 for e in listed
    ):
        return None
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0]
    if not name:
        return None
    return name, rest.split()


def _get(entity: Any, key: str) -> Any:
    return entity.get(key) if isinstance(entity, dict) else getattr(entity, key, None)
