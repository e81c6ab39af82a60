"""KissTransport against a real loopback TCP server and a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
import tty

import pytest

from adapters.ax25.config import TncAddress
from adapters.ax25.transport import KissTransport, TncUnavailable, open_stream
from gateway.clock import FakeClock


async def until(condition, clock: FakeClock | None = None, rounds: int = 200) -> None:  # type: ignore[no-untyped-def]
    # Lets real socket I/O and woken tasks run; no wall-clock waiting for timers.
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_greeting_data_and_reconnect_after_the_tnc_hangs_up() -> None:
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def tnc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append((reader, writer))

    server = await asyncio.start_server(tnc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clock = FakeClock()
    received: list[bytes] = []
    states: list[bool] = []
    transport = KissTransport(
        TncAddress("tcp", host="127.0.0.1", port=port),
        received.append,
        greeting=lambda: b"\xc0\x01\x05\xc0",
        on_state=states.append,
        clock=clock,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(transport.run(stop))
    await until(lambda: transport.connected)
    reader, writer = connections[0]
    assert await reader.readexactly(4) == b"\xc0\x01\x05\xc0"  # KISS parameters first
    writer.write(b"\xc0\x00hello\xc0")
    await until(lambda: received)
    assert received == [b"\xc0\x00hello\xc0"]
    await transport.write(b"out")
    assert await reader.readexactly(3) == b"out"

    writer.close()  # the TNC goes away
    await until(lambda: not transport.connected)
    with pytest.raises(TncUnavailable, match="not connected"):
        await transport.write(b"lost")
    clock.advance(1.0)  # past the first backoff delay (0.5 s +- 20 %)
    await until(lambda: transport.connected)
    assert transport.connections == 2 and states == [True, False, True]

    stop.set()
    await running
    assert not transport.connected
    server.close()
    await server.wait_closed()


async def test_unreachable_tnc_is_retried_until_stopped() -> None:
    clock = FakeClock()
    transport = KissTransport(
        TncAddress("tcp", host="127.0.0.1", port=1), lambda d: None, clock=clock
    )
    stop = asyncio.Event()
    running = asyncio.create_task(transport.run(stop))
    await until(lambda: transport.backoff.attempts == 1)
    clock.advance(1.0)
    await until(lambda: transport.backoff.attempts == 2)
    stop.set()
    await running
    assert transport.connections == 0


async def test_serial_port_opened_with_stale_input_flushed() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo of what the "TNC" writes, as on Direwolf's pty
    try:
        os.write(master, b"\xc0\x00stale\xc0")  # heard before we opened the port
        reader, writer = await open_stream(
            TncAddress("serial", device=os.ttyname(slave), baud=9600)
        )
        os.write(master, b"\xc0\x00fresh\xc0")
        data = await asyncio.wait_for(reader.read(100), 5)
        assert data == b"\xc0\x00fresh\xc0"
        writer.write(b"to the tnc")
        await writer.drain()
        assert os.read(master, 100) == b"to the tnc"
        writer.close()
    finally:
        os.close(master)
        os.close(slave)
