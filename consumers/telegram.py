"""The default Telegram bot until the real one (issue 15): /help explains, text is echoed.

Routed under ``"telegram"`` in project/asgi.py, one instance per chat. It behaves like the
seed's ChattyBotConsumer ("You said: ...") and answers /start and /help with what the
gateway is.
"""

from __future__ import annotations

from typing import Any

from gateway.consumer import AsyncConsumer
from gateway.exceptions import StopConsumer

HELP = (
    "I am a bot gateway: one bot reachable from the web, MQTT devices, Telegram and AX.25 "
    "packet radio. Write anything and I echo it back; /help shows this text."
)


class TelegramEchoBot(AsyncConsumer):
    """Answers /start and /help, echoes text as "You said: ...", acknowledges buttons."""

    async def telegram_message(self, event: dict[str, Any]) -> None:
        """A message in the chat: help for /start and /help, else an echo."""
        if event.get("command") in {"start", "help"}:
            await self.send({"type": "telegram.message", "text": HELP})
        elif event.get("text") is not None:
            await self.send({"type": "telegram.message", "text": f"You said: {event['text']}"})
        else:
            await self.send(
                {
                    "type": "telegram.message",
                    "text": f"I got a {event.get('kind', 'message')}; I only answer text for now.",
                    "reply_to": event["message_id"],
                }
            )

    async def telegram_edited_message(self, event: dict[str, Any]) -> None:
        """Edits are not answered (the echo of the original stays)."""

    async def telegram_callback_query(self, event: dict[str, Any]) -> None:
        """A button was pressed: stop the client's spinner."""
        await self.send({"type": "telegram.answer_callback", "id": event["id"]})

    async def telegram_member(self, event: dict[str, Any]) -> None:
        """Joins and leaves need no answer."""

    async def telegram_disconnect(self, event: dict[str, Any]) -> None:
        """The chat's scope closes (idle or shutdown)."""
        raise StopConsumer
