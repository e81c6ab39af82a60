"""A chat room over linechat: every line goes to everyone else connected.

Uses the channel layer like any Channels consumer, so the same group could also reach web,
MQTT or Telegram users.
"""

from __future__ import annotations

from typing import Any

from gateway.consumer import AsyncConsumer
from gateway.exceptions import StopConsumer

#: The group every linechat connection joins.
ROOM = "linechat"


class LineChatConsumer(AsyncConsumer):
    """One connection: greets, relays its lines to the room and the room's lines to it.

    A line ``/nick NAME`` sets the name shown to others; ``/quit`` ends the connection.
    """

    nick = "anonymous"

    async def linechat_connect(self, event: dict[str, Any]) -> None:
        """Join the room and greet."""
        await self.channel_layer.group_add(ROOM, self.channel_name)
        await self.say("welcome to linechat; /nick NAME to set your name, /quit to leave")

    async def linechat_receive(self, event: dict[str, Any]) -> None:
        """A line from this client: a command, or a message for the room."""
        text: str = event["text"].strip()
        if not text:
            return
        if text == "/quit":
            await self.say("bye")
            await self.send({"type": "linechat.close"})
            return
        if text.startswith("/nick "):
            self.nick = text[6:].strip()[:32] or self.nick
            await self.say(f"you are {self.nick}")
            return
        await self.channel_layer.group_send(
            ROOM, {"type": "room.line", "text": f"<{self.nick}> {text}", "from": self.channel_name}
        )

    async def room_line(self, event: dict[str, Any]) -> None:
        """A line of the room: to this client, unless it wrote it."""
        if event["from"] != self.channel_name:
            await self.say(event["text"])

    async def linechat_disconnect(self, event: dict[str, Any]) -> None:
        """Leave the room; the instance ends."""
        await self.channel_layer.group_discard(ROOM, self.channel_name)
        raise StopConsumer()

    async def say(self, text: str) -> None:
        """Write one line to this client."""
        await self.send({"type": "linechat.send", "text": text})
