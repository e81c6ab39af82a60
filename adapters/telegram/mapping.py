"""Telegram <-> ASGI (pure): updates become a chat key, a scope and events; the application's
events become Bot API calls. No I/O, no clock; see docs/specs/telegram.md for every key.

Updates arrive as the Bot API's JSON (dicts), are checked and parsed with
``telegram.Update.de_json`` and mapped from the parsed objects. An update kind the gateway
does not handle maps to :class:`Ignored` (acknowledged and counted by the caller, never an
error). Outbound events are validated here: a bad one raises
:class:`~gateway.exceptions.LocalProtocolError` from the application's ``send()``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from telegram import Chat, Message, MessageEntity, Update, User

from gateway.exceptions import LocalProtocolError, RemoteProtocolError
from gateway.telegram import SPEC_VERSION, build_scope, parse_command

__all__ = ["SPEC_VERSION", "build_scope", "parse_command"]

#: The Bot API's limit on a message text (sendMessage, editMessageText), in UTF-16 code units.
MAX_TEXT = 4096
#: The limit on a photo or document caption.
MAX_CAPTION = 1024

#: ChatMember statuses that mean "is in the chat".
_PRESENT = {"creator", "administrator", "member", "owner", "restricted"}


@dataclass(frozen=True)
class Inbound:
    """An update for a chat: deliver ``events`` in order to the scope for ``chat_id``."""

    update_id: int
    chat_id: int
    chat: dict[str, Any]
    user: dict[str, Any] | None
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Ignored:
    """An update the gateway does not handle (inline queries, polls...): acknowledge and count."""

    update_id: int
    kind: str


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call for the outbox: ``method`` with JSON-able ``params``.

    ``cost`` is what the call counts against the flood limits (0 for chat actions and
    callback answers, which Telegram does not count as messages).
    """

    method: str
    params: dict[str, Any]
    cost: float = 1.0
    #: Keys of ``params`` holding uploads as ``{"bytes": base64, "filename": name}``.
    uploads: tuple[str, ...] = field(default=())


def parse_update(data: Any) -> Update:
    """Parse one update's JSON (a dict) with python-telegram-bot.

    Raises:
        RemoteProtocolError: ``data`` is not an update object (not a dict, no integer
            ``update_id``, or fields PTB cannot parse).
    """
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise RemoteProtocolError("not a Telegram update: expected an object with an update_id")
    try:
        update = Update.de_json(data, None)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise RemoteProtocolError(f"not a Telegram update: {exc}") from None
    return update


def map_update(data: dict[str, Any]) -> Inbound | Ignored:
    """Map one update (its JSON) to the chat it belongs to and the events for that chat.

    Raises:
        RemoteProtocolError: the update cannot be parsed (see :func:`parse_update`).
    """
    update = parse_update(data)
    uid = update.update_id
    for attribute, event_type in (
        ("message", "telegram.message"),
        ("edited_message", "telegram.edited_message"),
    ):
        message: Message | None = getattr(update, attribute)
        if message is not None:
            events = _message_events(message, event_type, uid)
            return _inbound(uid, message.chat, message.from_user, events)
    query = update.callback_query
    if query is not None and query.message is not None:
        event = {
            "type": "telegram.callback_query",
            "update_id": uid,
            "id": query.id,
            "from": user_dict(query.from_user),
            "data": query.data,
            "message_id": query.message.message_id,
            "chat_instance": query.chat_instance,
        }
        return _inbound(uid, query.message.chat, query.from_user, [event])
    member = update.chat_member or update.my_chat_member
    if member is not None:
        old, new = member.old_chat_member, member.new_chat_member
        was, now = _is_present(old.status, old), _is_present(new.status, new)
        event = {
            "type": "telegram.member",
            "update_id": uid,
            "change": "joined" if now and not was else "left" if was and not now else "updated",
            "members": [user_dict(new.user)],
            "from": user_dict(member.from_user),
            "old_status": str(old.status),
            "new_status": str(new.status),
        }
        return _inbound(uid, member.chat, member.from_user, [event])
    return Ignored(uid, update_kind(data))


def update_kind(data: dict[str, Any]) -> str:
    """The name of the update's payload field (``message``, ``inline_query``, ...)."""
    return next((key for key in data if key != "update_id"), "empty")


def _is_present(status: str, member: Any) -> bool:
    if status == "restricted":
        return bool(getattr(member, "is_member", False))
    return status in _PRESENT


def _inbound(
    uid: int, chat: Chat, user: User | None, events: list[dict[str, Any]]
) -> Inbound | Ignored:
    if not events:
        return Ignored(uid, "service_message")
    return Inbound(uid, chat.id, chat_dict(chat), user_dict(user), events)


def _message_events(message: Message, event_type: str, uid: int) -> list[dict[str, Any]]:
    joined = message.new_chat_members
    left = message.left_chat_member
    if joined or left is not None:
        change, members = ("joined", list(joined)) if joined else ("left", [left])
        return [
            {
                "type": "telegram.member",
                "update_id": uid,
                "change": change,
                "members": [user_dict(user) for user in members],
                "from": user_dict(message.from_user),
                "message_id": message.message_id,
            }
        ]
    return [message_event(message, event_type, uid)]


def message_event(message: Message, event_type: str, uid: int) -> dict[str, Any]:
    """The ``telegram.message`` / ``telegram.edited_message`` event for one message."""
    text = message.text
    entities = message.entities or message.caption_entities
    event: dict[str, Any] = {
        "type": event_type,
        "update_id": uid,
        "message_id": message.message_id,
        "text": text,
        "from": user_dict(message.from_user),
        "date": int(message.date.timestamp()) if message.date else None,
        "entities": [entity_dict(entity) for entity in entities],
        "reply_to": message.reply_to_message.message_id if message.reply_to_message else None,
        "kind": "text" if text is not None else _media_kind(message),
    }
    if text is not None:
        command = parse_command(text, message.entities)
        if command is not None:
            event["command"], event["args"] = command
    if message.caption is not None:
        event["caption"] = message.caption
    if message.photo:
        event["photo"] = [
            {
                "file_id": size.file_id,
                "file_unique_id": size.file_unique_id,
                "width": size.width,
                "height": size.height,
                "file_size": size.file_size,
            }
            for size in message.photo
        ]
    if message.document is not None:
        doc = message.document
        event["document"] = {
            "file_id": doc.file_id,
            "file_unique_id": doc.file_unique_id,
            "file_name": doc.file_name,
            "mime_type": doc.mime_type,
            "file_size": doc.file_size,
        }
    if message.location is not None:
        event["location"] = {
            "latitude": message.location.latitude,
            "longitude": message.location.longitude,
        }
    return event


def _media_kind(message: Message) -> str:
    for kind in ("photo", "document", "location", "sticker", "voice", "video", "audio", "contact"):
        if getattr(message, kind, None):
            return kind
    return "other"


def user_dict(user: User | None) -> dict[str, Any] | None:
    """The keys of a Telegram user the gateway passes on (None stays None)."""
    if user is None:
        return None
    return {
        "id": user.id,
        "is_bot": user.is_bot,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "language_code": user.language_code,
    }


def chat_dict(chat: Chat) -> dict[str, Any]:
    """``{"id", "type", "title"}``; title is the username or first name for private chats."""
    title = chat.title or chat.username or chat.first_name
    return {"id": chat.id, "type": str(chat.type), "title": title}


def entity_dict(entity: MessageEntity) -> dict[str, Any]:
    """A message entity as a plain dict (``type``, ``offset``, ``length``, ``url``...)."""
    return entity.to_dict(recursive=True)


# --- outbound ------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (characters beyond U+FFFF count 2)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` UTF-16 units, in order, losing nothing.

    Cuts after the last newline that fits, else after the last space, else (one word longer
    than the limit) at the limit. The separator stays at the end of the earlier part, so
    ``"".join(parts) == text``; parts that would be only whitespace are kept with their
    neighbour rather than sent alone.
    """
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        cut = _fit(rest, limit)
        window = rest[:cut]
        for separator in ("\n", " "):
            at = window.rfind(separator)
            if at > 0 and window[: at + 1].strip():
                cut = at + 1
                break
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return parts


def _fit(text: str, limit: int) -> int:
    """The largest prefix length (in characters) whose UTF-16 length is <= limit."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return max(index, 1)
    return len(text)


def outbound_calls(chat_id: int, event: dict[str, Any]) -> list[ApiCall]:
    """The Bot API calls for one event the application sent to a chat's scope.

    Raises:
        LocalProtocolError: the event is not one of the documented ``telegram.*`` send events
            or a key is missing or of the wrong type; the message says which.
    """
    kind = event.get("type")
    builder = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise LocalProtocolError(
            f"unknown telegram send event {kind!r}: use one of {', '.join(sorted(_BUILDERS))}"
        )
    calls: list[ApiCall] = builder(chat_id, event)
    return calls


def _text(event: dict[str, Any], key: str = "text", required: bool = True) -> str | None:
    value = event.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise LocalProtocolError(
            f"{event.get('type')}: {key!r} must be a non-empty string, got {value!r}"
        )
    return value


def _int(event: dict[str, Any], key: str, required: bool = False) -> int | None:
    value = event.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise LocalProtocolError(f"{event.get('type')}: {key!r} must be an integer, got {value!r}")
    return value


def _common(event: dict[str, Any], params: dict[str, Any]) -> None:
    parse_mode = event.get("parse_mode")
    if parse_mode is not None:
        if parse_mode not in {"HTML", "Markdown", "MarkdownV2"}:
            raise LocalProtocolError(
                f"{event.get('type')}: parse_mode must be HTML, Markdown or MarkdownV2, "
                f"got {parse_mode!r}"
            )
        params["parse_mode"] = parse_mode
    markup = event.get("reply_markup")
    if markup is not None:
        if not isinstance(markup, dict):
            raise LocalProtocolError(
                f"{event.get('type')}: reply_markup must be a dict in the Bot API's JSON form "
                f"(e.g. {{'inline_keyboard': [[...]]}}), got {type(markup).__name__}"
            )
        params["reply_markup"] = markup


def _reply_to(event: dict[str, Any], params: dict[str, Any]) -> None:
    reply_to = _int(event, "reply_to")
    if reply_to is not None:
        params["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}


def _message(chat_id: int, event: dict[str, Any]) -> list[ApiCall]:
    text = _text(event)
    assert text is not None
    parts = split_text(text)
    calls = []
    for index, part in enumerate(parts):
        params: dict[str, Any] = {"chat_id": chat_id, "text": part}
        _common(event, params)
        if index < len(parts) - 1:
            # The keyboard belongs under the last part, which the user reads last.
            params.pop("reply_markup", None)
        if index == 0:
            _reply_to(event, params)
        calls.append(ApiCall("sendMessage", params))
    return calls


def _edit(chat_id: int, event: dict[str, Any]) -> list[ApiCall]:
    text = _text(event)
    assert text is not None
    if utf16_len(text) > MAX_TEXT:
        raise LocalProtocolError(
            f"telegram.edit: text is {utf16_len(text)} characters, Telegram allows {MAX_TEXT}: "
            "shorten it (only new messages are split)"
        )
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "message_id": _int(event, "message_id", required=True),
        "text": text,
    }
    _common(event, params)
    return [ApiCall("editMessageText", params)]


def _answer(chat_id: int, event: dict[str, Any]) -> list[ApiCall]:
    query_id = _text(event, "id")
    params: dict[str, Any] = {"callback_query_id": query_id}
    text = _text(event, required=False)
    if text is not None:
        params["text"] = text
    if event.get("show_alert"):
        params["show_alert"] = True
    if event.get("url") is not None:
        params["url"] = _text(event, "url")
    return [ApiCall("answerCallbackQuery", params, cost=0.0)]


def _typing(chat_id: int, event: dict[str, Any]) -> list[ApiCall]:
    action = event.get("action", "typing")
    if not isinstance(action, str) or not action:
        raise LocalProtocolError(f"telegram.typing: action must be a string, got {action!r}")
    return [ApiCall("sendChatAction", {"chat_id": chat_id, "action": action}, cost=0.0)]


def _media(method: str, key: str) -> Any:
    def build(chat_id: int, event: dict[str, Any]) -> list[ApiCall]:
        value = event.get(key)
        params: dict[str, Any] = {"chat_id": chat_id}
        uploads: tuple[str, ...] = ()
        if isinstance(value, bytes | bytearray):
            filename = event.get("filename") or ("photo.jpg" if key == "photo" else "file")
            params[key] = {"bytes": base64.b64encode(value).decode(), "filename": str(filename)}
            uploads = (key,)
        elif isinstance(value, str) and value:
            params[key] = value  # a file_id or an http(s) URL Telegram fetches itself
        else:
            raise LocalProtocolError(
                f"{event.get('type')}: {key!r} must be bytes (an upload), a file_id or a URL, "
                f"got {type(value).__name__}"
            )
        caption = _text(event, "caption", required=False)
        if caption is not None:
            if utf16_len(caption) > MAX_CAPTION:
                raise LocalProtocolError(
                    f"{event.get('type')}: caption is {utf16_len(caption)} characters, "
                    f"Telegram allows {MAX_CAPTION}: send the rest as a telegram.message"
                )
            params["caption"] = caption
        _common(event, params)
        _reply_to(event, params)
        return [ApiCall(method, params, uploads=uploads)]

    return build


_BUILDERS: dict[str, Any] = {
    "telegram.message": _message,
    "telegram.edit": _edit,
    "telegram.answer_callback": _answer,
    "telegram.typing": _typing,
    "telegram.photo": _media("sendPhoto", "photo"),
    "telegram.document": _media("sendDocument", "document"),
}
