"""AsyncAx25Consumer: a consumer base for ``ax25`` scopes (docs/specs/ax25.md).

Override :meth:`aprs_received` (APRS messages) and/or :meth:`ui_received` (datagram mode);
reply with :meth:`send_aprs` / :meth:`send_ui`. ``self.local`` and ``self.remote`` are the
callsigns of the conversation. Every event of the spec has a default handler, so a consumer
never dies of an event type it did not expect.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.consumer import AsyncConsumer
from gateway.exceptions import StopConsumer

__all__ = ["AsyncAx25Consumer"]

logger = logging.getLogger(__name__)


class AsyncAx25Consumer(AsyncConsumer):
    """Handles one (local, remote, mode) conversation of the AX.25 adapter."""

    @property
    def local(self) -> str:
        """Our callsign the station talks to (``"BOT-1"``)."""
        return str(self.scope.get("local"))

    @property
    def remote(self) -> str:
        """The station's callsign (``"N0CALL-5"``)."""
        return str(self.scope.get("remote"))

    async def aprs_message(self, event: dict[str, Any]) -> None:
        """An APRS message to us (already acked by the adapter): calls :meth:`aprs_received`."""
        await self.aprs_received(event["text"], event.get("msgno"))

    async def ax25_ui(self, event: dict[str, Any]) -> None:
        """A UI frame to us: calls :meth:`ui_received`."""
        await self.ui_received(event["bytes"], event.get("pid", 0xF0))

    async def ax25_disconnect(self, event: dict[str, Any]) -> None:
        """The scope ends (idle, shutdown): calls :meth:`disconnect`, then stops."""
        await self.disconnect(event.get("reason", ""))
        raise StopConsumer()

    async def aprs_received(self, text: str, msgno: str | None) -> None:
        """Called for each APRS message, once per message (repeats are not delivered)."""
        logger.debug("APRS %s>%s not handled: %r", self.remote, self.local, text)

    async def ui_received(self, data: bytes, pid: int) -> None:
        """Called for each UI frame addressed to ``self.local``."""
        logger.debug("UI %s>%s not handled: %r", self.remote, self.local, data[:40])

    async def disconnect(self, reason: str) -> None:
        """Called when the scope closes. Override it."""

    async def send_aprs(self, text: str) -> None:
        """Send an APRS message to the station; the adapter splits it into parts of at most
        67 characters, numbers them and re-sends each until it is acked."""
        await self.send({"type": "aprs.message", "text": text})

    async def send_ui(self, data: bytes, pid: int = 0xF0) -> None:
        """Send a UI frame (at most 256 bytes) to the station."""
        await self.send({"type": "ax25.ui", "bytes": data, "pid": pid})
