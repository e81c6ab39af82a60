"""A small packet-radio node for AX.25 connected mode: greeting, help, echo, bye.

What an operator sees after ``C BOT-1`` on a packet terminal::

    *** CONNECTED to BOT-1
    Welcome to BOT-1, N0CALL-5. Commands: H (help), E text (echo), B (bye).
    BOT-1>

Lines end with CR both ways, as packet terminals send them. Input is taken line by line
(an I frame may carry part of a line, or several). Route it with
``CallsignRouter({"BOT-1": PacketNode.as_asgi()})`` for connected-mode scopes; the bot proper
comes with issue 15.
"""

from __future__ import annotations

import logging

from gateway.generic.ax25link import AsyncAx25LinkConsumer

logger = logging.getLogger(__name__)

HELP = (
    "H          this help\r"
    "E text     echo the text back\r"
    "I          information about this node\r"
    "B          bye (disconnect)\r"
    "anything else is echoed back too\r"
)
#: Longest line kept while waiting for its CR; longer input is handled in pieces of this size.
MAX_LINE = 1024


class PacketNode(AsyncAx25LinkConsumer):
    """Node-like greeting and commands over one AX.25 link."""

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
            await self.send(text=HELP + self.prompt)
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
