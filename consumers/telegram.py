"""The bot on Telegram: one instance per chat (routed under "telegram" in project/asgi.py).

Commands and room messages as everywhere (docs/bot.md); the identity is the Telegram user who
writes, so a person is the same in a private chat and in a group. Replies go to the chat as
one message; reports come as a chart photo with the summary as its caption.
"""

from __future__ import annotations

import logging
from typing import Any

from consumers.bot.consumer import BotConsumerMixin
from consumers.bot.session import format_room_line
from consumers.rooms import RoomMessage
from gateway.consumer import AsyncConsumer
from gateway.exceptions import StopConsumer

logger = logging.getLogger(__name__)

#: A Telegram photo caption holds at most 1,024 characters.
CAPTION_LIMIT = 1024


def _name(user: dict[str, Any]) -> str:
    return str(user.get("username") or user.get("first_name") or f"tg{user.get('id')}")


class TelegramBot(BotConsumerMixin, AsyncConsumer):
    """The bot in one Telegram chat."""

    async def telegram_message(self, event: dict[str, Any]) -> None:
        """A message: commands and room text go to the sender's session."""
        user = event.get("from") or self.scope.get("telegram_user") or self.scope.get("user")
        if not isinstance(user, dict):
            return  # a channel post has no sender to answer as
        if "telegram_user" not in self.scope:
            # scope["user"] becomes the linked Django user; Telegram's own dict stays here.
            self.scope["telegram_user"] = self.scope.get("user")
        await self.bot_start("telegram", str(user["id"]), _name(user))
        text = event.get("text")
        if text is None:
            await self.reply([f"I got a {event.get('kind', 'message')}; I only read text."])
            return
        await self.reply(await self.bot_handle(text))

    async def telegram_edited_message(self, event: dict[str, Any]) -> None:
        """Edits are not re-posted: the room saw the original."""

    async def telegram_callback_query(self, event: dict[str, Any]) -> None:
        """No buttons are sent; stop a stale one's spinner anyway."""
        await self.send({"type": "telegram.answer_callback", "id": event["id"]})

    async def telegram_member(self, event: dict[str, Any]) -> None:
        """Joins and leaves of the Telegram chat need no answer."""

    async def telegram_disconnect(self, event: dict[str, Any]) -> None:
        """The chat's scope closes (idle or shutdown)."""
        await self.bot_stop()
        raise StopConsumer

    async def reply(self, lines: list[str]) -> None:
        if lines:
            await self.send({"type": "telegram.message", "text": "\n".join(lines)})

    async def show_room_message(self, event: RoomMessage) -> None:
        await self.send({"type": "telegram.message", "text": format_room_line(event)})

    async def bot_report(self, event: dict[str, Any]) -> None:
        """A chart photo captioned with the report, or the text alone."""
        if event.get("png"):
            await self.send(
                {
                    "type": "telegram.photo",
                    "photo": event["png"],
                    "filename": "report.png",
                    "caption": str(event["text"])[:CAPTION_LIMIT],
                }
            )
        else:
            await self.reply(str(event["text"]).splitlines())
