"""The bot for AX.25 connected mode: what an operator sees after ``C BOT-1``::

    *** CONNECTED to BOT-1
    BOT-1 chat. H for help, B to leave.
    BOT-1>

Plain ASCII, 80-column lines ending in CR, a short prompt after each answer. Commands work
with or without the slash (``J lobby``, ``/who``); any other line is said in the room.
Input is taken line by line (an I frame may carry part of a line, or several).
"""

from __future__ import annotations

import logging

from consumers.bot.consumer import BotConsumerMixin
from consumers.bot.session import format_room_line
from consumers.bot.text import for_terminal
from consumers.rooms import RoomMessage
from gateway.generic.ax25link import AsyncAx25LinkConsumer

logger = logging.getLogger(__name__)

#: Longest line kept while waiting for its CR; longer input is handled in pieces of this size.
MAX_LINE = 1024
BYE = {"B", "BYE", "Q", "QUIT", "/BYE", "/QUIT"}


class PacketNode(BotConsumerMixin, AsyncAx25LinkConsumer):
    """The bot over one AX.25 link."""

    def __init__(self, **initkwargs: object) -> None:
        super().__init__(**initkwargs)
        self.pending = ""

    @property
    def prompt(self) -> str:
        return f"{self.scope['local']}>\r"

    async def connect(self) -> None:
        await self.accept()
        await self.greet()

    async def connected(self) -> None:
        await self.greet()

    async def greet(self) -> None:
        logger.info("%s connected to %s", self.scope["remote"], self.scope["local"])
        bot = await self.bot_start("ax25", self.scope["remote"], self.scope["remote"])
        where = f" You are in {bot.room}." if bot.room else ""
        await self.send(
            text=for_terminal(f"{self.scope['local']} chat. H for help, B to leave.{where}")
            + self.prompt
        )

    async def receive(self, text: str, bytes_data: bytes) -> None:
        self.pending += text.replace("\r\n", "\r").replace("\n", "\r")
        while "\r" in self.pending or len(self.pending) >= MAX_LINE:
            if "\r" in self.pending:
                line, self.pending = self.pending.split("\r", 1)
            else:
                line, self.pending = self.pending[:MAX_LINE], self.pending[MAX_LINE:]
            if not await self.command(line):
                return

    async def command(self, line: str) -> bool:
        """Run one input line; False once the node said bye."""
        if not line.strip():
            await self.send(text=self.prompt)
            return True
        if line.strip().upper() in BYE:
            await self.send(text=f"73 de {self.scope['local']}\r")
            await self.close()
            return False
        await self.bot_start("ax25", self.scope["remote"], self.scope["remote"])
        replies = await self.bot_handle(line, slash_optional=True)
        await self.send(text=(for_terminal("\n".join(replies)) if replies else "") + self.prompt)
        return True

    async def disconnect(self, reason: str) -> None:
        logger.info("%s left %s (%s)", self.scope["remote"], self.scope["local"], reason)
        await self.bot_stop()

    async def reply(self, lines: list[str]) -> None:
        if lines:
            await self.send(text=for_terminal("\n".join(lines)))

    async def show_room_message(self, event: RoomMessage) -> None:
        await self.send(text=for_terminal(format_room_line(event)))
