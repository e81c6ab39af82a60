"""AX.25 connected-mode consumer: connect/receive/send/close/disconnect instead of raw events.

A packet operator's ``C BOT-1`` becomes one scope ``{"type": "ax25", "mode": "connected",
"local": "BOT-1", "remote": "N0CALL-5", ...}`` (docs/ax25-connected.md)::

    class Node(AsyncAx25LinkConsumer):
        async def connect(self):
            await self.accept()
            await self.send(text="Welcome to BOT-1\\r")

        async def receive(self, text, bytes_data):
            await self.send(text=text)          # echo

The link's reliability (acknowledgements, retries, windows, RNR) is the adapter's job: what
``send`` queues arrives in order or the consumer gets ``disconnect("link failure")``.
"""

from __future__ import annotations

from gateway.consumer import AsyncConsumer, Message
from gateway.exceptions import AcceptConnection, DenyConnection, StopConsumer


class AsyncAx25LinkConsumer(AsyncConsumer):
    """Consumer for one AX.25 connected-mode link (scope ``mode == "connected"``)."""

    async def ax25_connect(self, message: Message) -> None:
        """The peer asked to connect (or our outgoing connect succeeded): call ``connect()``."""
        if message.get("outgoing"):
            await self.connected()
            return
        try:
            await self.connect()
        except AcceptConnection:
            await self.accept()
        except DenyConnection:
            await self.reject()

    async def connect(self) -> None:
        """Called when a station asks to connect. Default: accept. ``reject()`` refuses (DM).

        Answer within the peer's T1 (a few seconds), or it sends SABM again.
        """
        await self.accept()

    async def connected(self) -> None:
        """Called when a link we opened (``ax25.connect`` on the channel layer) is up."""

    async def accept(self) -> None:
        """Accept the link: the peer gets UA."""
        await super().send({"type": "ax25.accept"})

    async def reject(self) -> None:
        """Refuse the link: the peer gets DM."""
        await super().send({"type": "ax25.reject"})

    async def ax25_receive(self, message: Message) -> None:
        """Pass received data to ``receive(text, bytes_data)``."""
        await self.receive(message.get("text", ""), message.get("bytes", b""))

    async def receive(self, text: str, bytes_data: bytes) -> None:
        """Called with each piece of data, in order. ``text`` is ``bytes_data`` decoded as
        UTF-8; packet terminals end lines with CR. Default: ignore it."""

    async def send(  # type: ignore[override]
        self, text: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        """Queue data for the peer (any length; "\\n" in ``text`` goes out as CR). Waits only
        while a lot is already queued on this link."""
        if bytes_data is not None:
            await super().send({"type": "ax25.send", "bytes": bytes_data})
        else:
            await super().send({"type": "ax25.send", "text": text or ""})

    async def close(self) -> None:
        """Disconnect once everything sent so far is acknowledged (DISC)."""
        await super().send({"type": "ax25.close"})

    async def ax25_disconnect(self, message: Message) -> None:
        """The link ended: call ``disconnect(reason)``, then stop the consumer."""
        await self.disconnect(message.get("reason", "peer"))
        raise StopConsumer

    async def disconnect(self, reason: str) -> None:
        """Called once the link is down: ``reason`` is "peer", "local", "link failure",
        "refused", "protocol error" or "shutdown". Do not send from here."""
