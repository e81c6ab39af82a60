"""Ax25Adapter.serve end to end against a loopback "TNC" (a TCP server speaking KISS)."""

from __future__ import annotations

import asyncio
import tempfile
from types import SimpleNamespace

import pytest

from adapters.ax25 import aprs
from adapters.ax25.adapter import Ax25Adapter
from adapters.ax25.frame import Callsign, Frame, FrameType, decode_frame, encode_frame
from adapters.ax25.kiss import KissDecoder, KissFrame, encode_data
from gateway.routing import CallsignRouter, ProtocolTypeRouter
from tests.integration.ax25.echo import RadioBot


async def test_serve_greets_the_tnc_acks_and_answers(caplog: pytest.LogCaptureFixture) -> None:
    connected: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def tnc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await connected.put((reader, writer))

    server = await asyncio.start_server(tnc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = SimpleNamespace(
        AX25_TNC=f"tcp://127.0.0.1:{port}",
        AX25_CALLSIGN="BOT-1,BOT-3",
        AX25_KISS_TXDELAY="30",
        AX25_APRS_PATH="",
        AX25_STATE_DIR=tempfile.mkdtemp(prefix="ax25-state-"),
    )
    adapter = Ax25Adapter.from_settings(settings, {})
    app = ProtocolTypeRouter({"ax25": CallsignRouter({"BOT-1": RadioBot, "BOT-2": RadioBot})})
    stop = asyncio.Event()
    serving = asyncio.create_task(adapter.serve(app, stop))
    reader, writer = await asyncio.wait_for(connected.get(), 5)
    decoder = KissDecoder()

    async def next_kiss() -> KissFrame:
        while True:
            frames = decoder.feed(await asyncio.wait_for(reader.read(4096), 5))
            if frames:
                assert len(frames) == 1
                return frames[0]

    assert await next_kiss() == KissFrame(0, 1, b"\x1e")  # TXDELAY 30 from the settings
    message = Frame(Callsign("APZXYZ"), Callsign("N0CALL", 5), FrameType.UI, pid=0xF0,
                    info=b":BOT-1    :help{3")  # fmt: skip
    writer.write(encode_data(encode_frame(message)))
    ack = aprs.parse(decode_frame((await next_kiss()).payload).info)
    reply = aprs.parse(decode_frame((await next_kiss()).payload).info)
    assert ack == aprs.AprsAck("N0CALL-5", "3")
    assert isinstance(reply, aprs.AprsMessage) and reply.text.startswith("Commands")

    stop.set()
    await asyncio.wait_for(serving, 10)
    writer.close()
    server.close()
    await server.wait_closed()
    assert "routes BOT-2 but AX25_CALLSIGN does not include them" in caplog.text
    assert "AX25_CALLSIGN includes BOT-3 but the CallsignRouter has no route" in caplog.text
