"""A tiny echo consumer for the AX.25 adapter's own tests (the placeholder the bot replaced):
answers "help" and echoes, over APRS messages and UI frames, with no database."""

from __future__ import annotations

import logging

from gateway.ax25.consumer import AsyncAx25Consumer

logger = logging.getLogger(__name__)

HELP = "Commands: help - this text; anything else is echoed back to you."


class RadioBot(AsyncAx25Consumer):
    """One station's conversation with one of our callsigns."""

    async def aprs_received(self, text: str, msgno: str | None) -> None:
        logger.info("APRS %s>%s: %r", self.remote, self.local, text)
        await self.send_aprs(self.answer(text))

    async def ui_received(self, data: bytes, pid: int) -> None:
        text = data.decode("utf-8", "replace").strip()
        logger.info("UI %s>%s: %r", self.remote, self.local, text)
        await self.send_ui(self.answer(text).encode("utf-8") + b"\r")

    @staticmethod
    def answer(text: str) -> str:
        """The reply to one message."""
        if text.strip().lower() in ("help", "?", "h"):
            return HELP
        return f"echo: {text.strip()}"
