"""Connected mode against Direwolf's own AX.25 implementation, as a packet operator meets it.

Direwolf B plays the operator's TNC, driven over AGW like a terminal program; the gateway runs
the ax25 adapter on Direwolf A's KISS port with the test EchoNode on BOT-1 and BOT-2 (the bot's
PacketNode is tested through Ax25Communicator in tests/unit/consumers). B tries
SABME (v2.2) first: every session here also checks the DM -> SABM fallback. 9600 baud keeps it
short; each test uses fresh operator callsigns (Direwolf ignores a disconnect during set-up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from adapters.ax25.adapter import Ax25Adapter
from adapters.ax25.links import CONNECT_CHANNEL
from gateway.ax25.routing import CallsignRouter
from gateway.layers import get_channel_layer
from tests.integration.ax25.agw_operator import AgwOperator, Session
from tests.integration.ax25.conftest import new_run_dir, require_direwolf
from tests.integration.ax25.direwolf import DirewolfPair
from tests.integration.ax25.echo import EchoNode

pytestmark = pytest.mark.integration

#: Seconds allowed for a 10 KB echo (both ways at once) at 9600 baud, loss included.
TRANSFER_DEADLINE = 150.0
SESSION_DEADLINE = 30.0


@pytest.fixture(scope="module")
def clean_air() -> Iterator[DirewolfPair]:
    require_direwolf()
    pair = DirewolfPair.start(new_run_dir(), baud=9600)
    yield pair
    pair.stop()


@pytest.fixture(scope="module")
def lossy_air() -> Iterator[DirewolfPair]:
    """One transmission in ten lost on the air, both ways (seeded)."""
    require_direwolf()
    pair = DirewolfPair.start(new_run_dir(), baud=9600, loss=["--drop", "0.1", "--seed", "11"])
    yield pair
    pair.stop()


async def run_gateway(pair: DirewolfPair, settings: object) -> AsyncIterator[Ax25Adapter]:
    settings.AX25_TNC = f"tcp://127.0.0.1:{pair.a.kiss_port}"  # type: ignore[attr-defined]
    settings.AX25_CALLSIGN = "BOT-1,BOT-2"  # type: ignore[attr-defined]
    # 9600 baud carries ~1200 bytes/s: pace at the channel's own limit.
    settings.AX25_BYTES_PER_SECOND = "1200"  # type: ignore[attr-defined]
    settings.AX25_PACLEN = "256"  # type: ignore[attr-defined]
    settings.AX25_WINDOW = "4"  # type: ignore[attr-defined]
    settings.AX25_T2 = "0.3"  # type: ignore[attr-defined]
    adapter = Ax25Adapter.from_settings(settings, {})
    app = CallsignRouter({"BOT-1": EchoNode.as_asgi(), "BOT-2": EchoNode.as_asgi()})
    stop = asyncio.Event()
    task = asyncio.create_task(adapter.serve(app, stop))
    try:
        yield adapter
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def gateway(clean_air: DirewolfPair, settings: object) -> AsyncIterator[Ax25Adapter]:
    async for adapter in run_gateway(clean_air, settings):
        yield adapter


@pytest.fixture
async def lossy_gateway(lossy_air: DirewolfPair, settings: object) -> AsyncIterator[Ax25Adapter]:
    async for adapter in run_gateway(lossy_air, settings):
        yield adapter


async def operator_on(pair: DirewolfPair, *callsigns: str) -> AgwOperator:
    agw = await AgwOperator.open(pair.b.agw_port)
    for callsign in callsigns:
        await agw.register(callsign)
    return agw


async def connect(agw: AgwOperator, mine: str, bot: str = "BOT-1") -> Session:
    session = agw.connect(mine, bot)
    await asyncio.wait_for(session.connected.wait(), SESSION_DEADLINE)
    assert "CONNECTED" in session.notices[0]
    await agw.wait_for_data(session, f"{bot}>\r".encode(), SESSION_DEADLINE)  # the greeting
    return session


def lines(size: int, tag: str) -> bytes:
    """``size`` bytes of numbered text lines (CR-terminated), none a node command."""
    out = bytearray()
    n = 0
    while len(out) < size:
        out += f"L{tag}{n:05d} the quick brown fox jumps over the lazy dog 0123456789\r".encode()
        n += 1
    return bytes(out)


async def test_greeting_text_both_ways_and_disconnect(
    gateway: Ax25Adapter, clean_air: DirewolfPair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="adapters.ax25.link")
    agw = await operator_on(clean_air, "N0CALL-2")
    try:
        session = await connect(agw, "N0CALL-2")
        assert session.data.startswith(b"Welcome to BOT-1, N0CALL-2.")
        assert "type=SABME" in caplog.text  # Direwolf tried v2.2 and fell back
        agw.send("N0CALL-2", "BOT-1", b"E hello from the operator\r")
        await agw.wait_for_data(session, b"hello from the operator\r", SESSION_DEADLINE)
        agw.send("N0CALL-2", "BOT-1", b"H\r")
        await agw.wait_for_data(session, b"B          bye (disconnect)\r", SESSION_DEADLINE)
        agw.disconnect("N0CALL-2", "BOT-1")
        await asyncio.wait_for(session.disconnected.wait(), SESSION_DEADLINE)
        # B reports the disconnect once our UA came back: the link is gone here.
        assert gateway.station is not None and gateway.station.links.links == 0
    finally:
        await agw.aclose()


async def test_bye_command_disconnects_from_our_side(
    gateway: Ax25Adapter, clean_air: DirewolfPair
) -> None:
    agw = await operator_on(clean_air, "N0CALL-3")
    try:
        session = await connect(agw, "N0CALL-3")
        agw.send("N0CALL-3", "BOT-1", b"B\r")
        await asyncio.wait_for(session.disconnected.wait(), SESSION_DEADLINE)
        assert session.data.endswith(b"73 de BOT-1\r")
    finally:
        await agw.aclose()


async def echo_10kb(agw: AgwOperator, mine: str, tag: str) -> None:
    session = await connect(agw, mine)
    start = len(session.data)
    payload = lines(10_240, tag)
    agw.send(mine, "BOT-1", payload)
    data = await agw.wait_for_data(
        session, lambda d: len(d) - start >= len(payload), TRANSFER_DEADLINE
    )
    assert data[start:] == payload  # every byte, in order, each once: up and back down
    agw.disconnect(mine, "BOT-1")
    await asyncio.wait_for(session.disconnected.wait(), SESSION_DEADLINE)


async def test_10kb_each_way(gateway: Ax25Adapter, clean_air: DirewolfPair) -> None:
    agw = await operator_on(clean_air, "N0CALL-4")
    try:
        await echo_10kb(agw, "N0CALL-4", "a")
    finally:
        await agw.aclose()


async def test_10kb_each_way_with_one_transmission_in_ten_lost(
    lossy_gateway: Ax25Adapter, lossy_air: DirewolfPair
) -> None:
    agw = await operator_on(lossy_air, "N0CALL-5")
    try:
        await echo_10kb(agw, "N0CALL-5", "b")
    finally:
        await agw.aclose()
    dropped = lossy_air.a.air_log().count("dropped") + lossy_air.b.air_log().count("dropped")
    assert dropped > 0, "the relay lost nothing: the lossy test tested a clean channel"


async def test_three_stations_at_once(gateway: Ax25Adapter, clean_air: DirewolfPair) -> None:
    calls = ["N0CALL-6", "N0CALL-7", "N0CALL-8"]
    agw = await operator_on(clean_air, *calls)
    try:
        bots = ["BOT-1", "BOT-1", "BOT-2"]
        sessions = await asyncio.gather(*(connect(agw, c, b) for c, b in zip(calls, bots)))
        station = gateway.station
        assert station is not None and station.links.links == 3
        for call, bot in zip(calls, bots):
            agw.send(call, bot, f"E I am {call} talking to {bot}\r".encode())
        for session, call, bot in zip(sessions, calls, bots):
            data = await agw.wait_for_data(
                session, f"I am {call} talking to {bot}\r".encode(), SESSION_DEADLINE
            )
            others = [c for c in calls if c != call]
            assert not any(f"I am {other}".encode() in data for other in others)
        for call, bot in zip(calls, bots):
            agw.disconnect(call, bot)
        await asyncio.gather(*(asyncio.wait_for(s.disconnected.wait(), 30) for s in sessions))
    finally:
        await agw.aclose()


async def test_outgoing_connect_requested_on_the_channel_layer(
    gateway: Ax25Adapter, clean_air: DirewolfPair
) -> None:
    agw = await operator_on(clean_air, "N0CALL-9")  # registered: B accepts links to it
    try:
        layer = get_channel_layer()
        assert layer is not None
        await layer.send(
            CONNECT_CHANNEL, {"type": "ax25.connect", "local": "BOT-2", "remote": "N0CALL-9"}
        )
        session = agw.sessions[("N0CALL-9", "BOT-2")]
        await asyncio.wait_for(session.connected.wait(), SESSION_DEADLINE)
        await agw.wait_for_data(session, b"Welcome to BOT-2, N0CALL-9.", SESSION_DEADLINE)
        agw.disconnect("N0CALL-9", "BOT-2")
        await asyncio.wait_for(session.disconnected.wait(), SESSION_DEADLINE)
    finally:
        await agw.aclose()
