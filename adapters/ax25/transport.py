"""KISS byte streams to a TNC over TCP or a serial port, reconnecting when it goes away.

Bytes only: framing is :mod:`adapters.ax25.kiss`. A serial port is opened with pyserial in a
thread (opening may block) and driven by pyserial-asyncio-fast; its input buffer is flushed on
open, since a TNC (or Direwolf's pseudo-terminal) buffers what it heard while nobody listened.
On a TCP connection there is nothing stale to flush; on both, the KISS decoder also drops the
bytes before the first FEND.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import serial
import serial_asyncio_fast

from adapters.ax25.config import TncAddress
from gateway.backoff import Backoff
from gateway.clock import Clock
from gateway.exceptions import GatewayError

__all__ = ["KissTransport", "TncUnavailable", "open_stream"]

logger = logging.getLogger(__name__)

_READ_SIZE = 4096


class TncUnavailable(GatewayError, ConnectionError):
    """The TNC is not connected right now (it is being reconnected); try again later."""


async def open_stream(address: TncAddress) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open the byte stream to the TNC.

    Raises:
        OSError: the TNC cannot be reached (refused, no such device, ...).
    """
    if address.kind == "tcp":
        return await asyncio.open_connection(address.host, address.port)
    loop = asyncio.get_running_loop()

    def open_port() -> serial.Serial:
        port = serial.serial_for_url(address.device, baudrate=address.baud, timeout=0)
        # Stale input: frames heard while nobody had the port open (pyserial: TCIFLUSH).
        port.reset_input_buffer()
        return port

    instance = await loop.run_in_executor(None, open_port)
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await serial_asyncio_fast.connection_for_serial(loop, lambda: protocol, instance)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


class KissTransport:
    """Keeps a byte stream to the TNC open, and reconnects with backoff when it drops.

    Args:
        address: the TNC.
        on_data: called with every chunk of bytes read (from the event loop).
        greeting: returns the bytes to write first on every (re)connection (KISS parameters).
        on_state: called with True when connected, False when the connection is lost.
        clock: for the backoff sleeps; None: the loop's.
    """

    def __init__(
        self,
        address: TncAddress,
        on_data: Callable[[bytes], None],
        *,
        greeting: Callable[[], bytes] = lambda: b"",
        on_state: Callable[[bool], None] = lambda connected: None,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.address = address
        self._on_data = on_data
        self._greeting = greeting
        self._on_state = on_state
        self._clock = clock
        self.backoff = backoff or Backoff(f"KISS TNC {address}", logger=logger, clock=clock)
        self._writer: asyncio.StreamWriter | None = None
        self.connections = 0

    @property
    def connected(self) -> bool:
        """True while the stream is open."""
        return self._writer is not None

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, read until the stream ends, reconnect; return once ``stop`` is set."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self._run_once(stopping)
                except OSError as exc:  # refused, reset, cable pulled (EIO on a tty)
                    if stop.is_set():
                        break
                    await self.backoff.wait(exc, self._clock, stop=stop)
        finally:
            stopping.cancel()

    async def _run_once(self, stopping: asyncio.Future[Any]) -> None:
        reader, writer = await open_stream(self.address)
        self.backoff.succeeded()
        self.connections += 1
        logger.info("= connected to KISS TNC %s", self.address)
        try:
            greeting = self._greeting()
            if greeting:
                writer.write(greeting)
                await writer.drain()
            self._writer = writer
            self._on_state(True)
            while True:
                reading: asyncio.Future[Any] = asyncio.ensure_future(reader.read(_READ_SIZE))
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    reading.cancel()
                    return
                data = reading.result()
                if not data:
                    raise ConnectionResetError("the TNC closed the connection")
                self._on_data(data)
        finally:
            if self._writer is not None:
                self._writer = None
                self._on_state(False)
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass  # the stream is gone already; nothing to flush

    async def write(self, data: bytes) -> None:
        """Write bytes to the TNC and wait until they are handed to the OS.

        Raises:
            TncUnavailable: not connected right now.
        """
        writer = self._writer
        if writer is None:
            raise TncUnavailable(f"KISS TNC {self.address} is not connected; reconnecting")
        writer.write(data)
        try:
            await writer.drain()
        except OSError as exc:
            raise TncUnavailable(f"KISS TNC {self.address}: write failed ({exc})") from exc
