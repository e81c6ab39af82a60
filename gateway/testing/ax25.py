"""Ax25Communicator: play a radio station against an ``ax25`` application, in-process.

No TNC, no adapter: the communicator builds the scope the AX.25 adapter would open for one
(local, remote, mode) conversation (docs/specs/ax25.md) and exchanges its events. gateway/
imports nothing from adapters/, so callsigns here are plain text.
"""

from __future__ import annotations

from typing import Any

from gateway.ax25.scope import ax25_scope
from gateway.exceptions import ConfigurationError, RemoteProtocolError
from gateway.testing.application import ApplicationCommunicator

__all__ = ["Ax25Communicator"]

_MODES = ("datagram", "aprs", "connected")


class Ax25Communicator(ApplicationCommunicator):
    """One station talking to one of our callsigns.

    Example::

        comm = Ax25Communicator(application, local="BOT-1", remote="N0CALL-5", mode="aprs")
        await comm.send_aprs("help", msgno="1")
        assert "commands" in await comm.receive_aprs()
        await comm.disconnect()
    """

    def __init__(
        self,
        application: Any,
        *,
        local: str,
        remote: str,
        mode: str = "aprs",
        path: list[str] | None = None,
        port: int = 0,
    ) -> None:
        """Build the scope; nothing runs until the first event.

        Args:
            application: an ASGI application or consumer class (or the CallsignRouter).
            local: our callsign the station talks to, e.g. ``"BOT-1"``.
            remote: the station's callsign, e.g. ``"N0CALL-5"``.
            mode: ``"datagram"`` (ax25.ui), ``"aprs"`` (aprs.message) or ``"connected"``.
            path: the digipeater path the station's frames came through (``["WIDE1-1*"]``).
            port: the TNC port.
        """
        if mode not in _MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
        scope = ax25_scope(mode, local, remote, list(path or []), port)
        super().__init__(application, scope)

    async def send_aprs(self, text: str, msgno: str | None = None) -> None:
        """The station sends an APRS message (``aprs.message`` in)."""
        await self.send_input({"type": "aprs.message", "text": text, "msgno": msgno})

    async def send_ui(self, data: bytes, pid: int = 0xF0) -> None:
        """The station sends a UI frame (``ax25.ui`` in)."""
        await self.send_input({"type": "ax25.ui", "bytes": data, "pid": pid})

    async def _expect(self, kind: str, timeout: float) -> dict[str, Any]:
        message = await self.receive_output(timeout)
        if message.get("type") != kind:
            raise RemoteProtocolError(f"expected {kind!r} from the application, got {message!r}")
        return message

    async def receive_aprs(self, timeout: float = 1) -> str:
        """The text of the next ``aprs.message`` the application sends.

        Raises:
            RemoteProtocolError: it sent another message type.
            TimeoutError: it sent nothing in time.
        """
        return str((await self._expect("aprs.message", timeout))["text"])

    async def receive_ui(self, timeout: float = 1) -> bytes:
        """The bytes of the next ``ax25.ui`` the application sends."""
        return bytes((await self._expect("ax25.ui", timeout))["bytes"])

    async def disconnect(self, reason: str = "idle", timeout: float = 1) -> None:
        """Deliver ``ax25.disconnect`` (what the adapter sends when it closes the scope) and
        wait for the application to end."""
        await self.send_input({"type": "ax25.disconnect", "reason": reason})
        await self.wait(timeout)  # type: ignore[no-untyped-call]
