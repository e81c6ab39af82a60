"""The bot over APRS messages and AX.25 UI frames: one instance per (our callsign, station).

Commands work with or without the slash (``JOIN lobby``, ``/who``). APRS replies are packed
into messages of at most 67 characters; UI frames get plain 80-column lines.
"""

from __future__ import annotations

import logging

from consumers.bot.consumer import BotConsumerMixin
from consumers.bot.session import format_room_line
from consumers.bot.text import for_aprs, for_terminal
from consumers.rooms import RoomMessage
from gateway.ax25.consumer import AsyncAx25Consumer

logger = logging.getLogger(__name__)


class RadioBot(BotConsumerMixin, AsyncAx25Consumer):
    """One station's conversation with one of our callsigns (APRS or UI frames)."""

    async def aprs_received(self, text: str, msgno: str | None) -> None:
        logger.info("APRS %s>%s: %r", self.remote, self.local, text)
        await self._handle(text)

    async def ui_received(self, data: bytes, pid: int) -> None:
        text = data.decode("utf-8", "replace").strip()
        logger.info("UI %s>%s: %r", self.remote, self.local, text)
        await self._handle(text)

    async def _handle(self, text: str) -> None:
        await self.bot_start("ax25", self.remote, self.remote)
        await self.reply(await self.bot_handle(text, slash_optional=True))

    async def disconnect(self, reason: str) -> None:
        await self.bot_stop()

    async def reply(self, lines: list[str]) -> None:
        if not lines:
            return
        if self.scope.get("mode") == "aprs":
            for part in for_aprs("\n".join(lines)):
                await self.send_aprs(part)
        else:
            await self.send_ui(for_terminal("\n".join(lines)).encode("ascii"))

    async def show_room_message(self, event: RoomMessage) -> None:
        await self.reply([format_room_line(event)])
