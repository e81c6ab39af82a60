"""Rooms over MQTT: ``chat/{room}/in`` in, ``chat/{room}/out`` out (one instance per room).

In: UTF-8 text (the sender is "mqtt"), or JSON ``{"from": NAME, "text": TEXT}``. A text that
is a /command runs as that sender's command; the answer is published on ``chat/{room}/out``
with ``"sender": "bot"`` and ``"to": NAME``. Out: every message of the room, from any
protocol, as JSON ``{"room", "sender", "text", "source"}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from consumers.bot.session import BotSession
from consumers.rooms import RoomMessage, clean_nick, room_group_name, room_key
from gateway.exceptions import InvalidInput
from gateway.mqtt.consumer import AsyncMqttConsumer

logger = logging.getLogger(__name__)

#: The sender of plain-text payloads.
ANONYMOUS = "mqtt"


def parse_payload(text: str | None) -> tuple[str, str]:
    """(sender, text) of a chat/R/in payload.

    Raises:
        InvalidInput: not UTF-8, or JSON without a string "text".
    """
    if text is None:
        raise InvalidInput("chat payload is not UTF-8 text: send text or JSON {from, text}")
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            return ANONYMOUS, text
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise InvalidInput('chat JSON needs a string "text": {"from": NAME, "text": TEXT}')
        sender = data.get("from")
        return (sender if isinstance(sender, str) and sender.strip() else ANONYMOUS), data["text"]
    return ANONYMOUS, text


class MqttChatConsumer(AsyncMqttConsumer):
    """One room's MQTT side. Routed by ``topic("chat/{room}/in", ...)``."""

    async def connect(self) -> None:
        self.room = self.kwargs["room"]
        self.key = room_key(self.room)
        self.sessions: dict[str, BotSession] = {}
        await self.channel_layer.group_add(room_group_name(self.room), self.channel_name)

    async def message(self, event: dict[str, Any]) -> None:
        try:
            sender, text = parse_payload(event["text"])
            nick = clean_nick(sender)
        except InvalidInput as exc:
            logger.warning("chat/%s/in: %s", self.room, exc)
            await self._answer(ANONYMOUS, [str(exc)])
            return
        session = await self._session(nick)
        replies = await session.handle(text)
        # A sender's /leave or /join discards this channel from the room: this topic stays in.
        await self.channel_layer.group_add(room_group_name(self.room), self.channel_name)
        await self._answer(nick, replies)

    async def _session(self, nick: str) -> BotSession:
        session = self.sessions.get(nick.casefold())
        if session is None:
            session = BotSession(
                protocol="mqtt",
                address=nick.casefold(),
                nick=nick,
                layer=self.channel_layer,
                channel_name=self.channel_name,
                presence_key=f"{self.channel_name}#{nick.casefold()}",
            )
            await session.start()
            if session.room is None or room_key(session.room) != self.key:
                # Publishing on chat/R/in puts the sender in R.
                await session.run(session_join(self.room))
            self.sessions[nick.casefold()] = session
        return session

    async def _answer(self, to: str, lines: list[str]) -> None:
        for line in lines:
            await self._publish(
                {"room": self.room, "sender": "bot", "text": line, "source": "bot", "to": to}
            )

    async def _publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        await self.publish(f"chat/{self.room}/out", text=payload, qos=1)

    async def room_message(self, event: RoomMessage) -> None:
        """A room message from any protocol (MQTT's own too: other subscribers want it)."""
        if room_key(event["room"]) != self.key:
            return  # a sender's session is in another room too; not this topic's business
        await self._publish(
            {
                "room": event["room"],
                "sender": event["sender"],
                "text": event["text"],
                "source": event["source"],
            }
        )

    async def bot_notice(self, event: dict[str, Any]) -> None:
        """An alert for one of the senders: published for everyone on the room's topic."""
        await self._publish(
            {"room": self.room, "sender": "bot", "text": event["text"], "source": "bot"}
        )

    async def bot_report(self, event: dict[str, Any]) -> None:
        """A /report: its text."""
        await self._publish(
            {"room": self.room, "sender": "bot", "text": event["text"], "source": "bot"}
        )

    async def disconnect(self, reason: str) -> None:
        for session in self.sessions.values():
            await session.stop()
        await self.channel_layer.group_discard(room_group_name(self.room), self.channel_name)


def session_join(room: str) -> Any:
    """The /join command for ``room``."""
    from consumers.bot.commands import Command

    return Command("join", (room,), room)
