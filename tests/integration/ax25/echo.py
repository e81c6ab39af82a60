"""Tiny echo consumers for the AX.25 adapter's own tests (the placeholders the bot replaced),
with no database: RadioBot answers "help" and echoes over APRS messages and UI frames; EchoNode
is a node for connected mode (greeting, help, echo, bye)."""

from __future__ import annotations

import logging

from gateway.ax25.consumer import AsyncAx25Consumer
from gateway.generic.ax25link import AsyncAx25LinkConsumer

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


NODE_HELP = (
    "H          this help\r"
    "E text     echo the text back\r"
    "I          information about this node\r"
    "B          bye (disconnect)\r"
    "anything else is echoed back too\r"
)
#: Longest line kept while waiting for its CR; longer input is handled in pieces of this size.
MAX_LINE = 1024


class EchoNode(AsyncAx25LinkConsumer):
    """Node-like greeting and commands over one AX.25 link: H, E text, I, B; anything else
    is echoed (the connected-mode tests move kilobytes through it)."""

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
        await self.send(
            text=f"Welcome to {self.scope['local']}, {self.scope['remote']}. "
            "Commands: H (help), E text (echo), B (bye).\r" + self.prompt
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
        word, _, rest = line.strip().partition(" ")
        verb = word.upper()
        if verb in ("B", "BYE", "Q", "QUIT"):
            await self.send(text=f"73 de {self.scope['local']}\r")
            await self.close()
            return False
        if verb in ("H", "HELP", "?"):
            await self.send(text=NODE_HELP + self.prompt)
        elif verb in ("I", "INFO"):
            await self.send(
                text=f"{self.scope['local']}: a gateway node (AX.25 v2.0). "
                f"You are {self.scope['remote']}.\r" + self.prompt
            )
        elif verb == "E":
            await self.send(text=rest + "\r")
        else:
            await self.send(text=line + "\r")
        return True

    async def disconnect(self, reason: str) -> None:
        logger.info("%s left %s (%s)", self.scope["remote"], self.scope["local"], reason)
