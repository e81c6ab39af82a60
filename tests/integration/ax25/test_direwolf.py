"""The AX.25 adapter against Direwolf: the gateway on A's KISS port (TCP, then the serial pty),
the operator's test code on B, 9600 baud over the air relay.

Each test uses its own operator callsign (Direwolf and the dedupe set remember stations).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.ax25 import aprs
from adapters.ax25.adapter import Ax25Adapter
from adapters.ax25.frame import Callsign, Frame, FrameType
from adapters.ax25.kiss import encode_data
from gateway import metrics as gateway_metrics
from gateway.routing import CallsignRouter, ProtocolTypeRouter
from tests.integration.ax25.conftest import new_run_dir, require_direwolf
from tests.integration.ax25.direwolf import DirewolfPair
from tests.integration.ax25.echo import HELP, RadioBot
from tests.integration.ax25.radio_operator import NEW_CLIENT_DELAY, KissOperator, agw_unproto
from tests.integration.web.server import WebServer

pytestmark = pytest.mark.integration

BOT = Callsign("BOT", 1)


@contextlib.asynccontextmanager
async def gateway(tnc: str, **settings: str) -> AsyncIterator[Ax25Adapter]:
    """Run the ax25 adapter (RadioBot on BOT-1) on ``tnc`` until the block ends."""
    values = {
        "AX25_TNC": tnc,
        "AX25_CALLSIGN": "BOT-1",
        "AX25_APRS_PATH": "",
        "AX25_APRS_RETRY_SECONDS": "1.5",
        "AX25_APRS_MAX_TRIES": "4",
        "AX25_BYTES_PER_SECOND": "1200",
        "AX25_STATE_DIR": tempfile.mkdtemp(prefix="ax25-state-"),
        **settings,
    }
    adapter = Ax25Adapter.from_settings(SimpleNamespace(**values), {})
    application = ProtocolTypeRouter({"ax25": CallsignRouter({"BOT-1": RadioBot})})
    stop = asyncio.Event()
    serving = asyncio.create_task(adapter.serve(application, stop))
    try:
        await until(lambda: adapter.transport is not None and adapter.transport.connected)
        await asyncio.sleep(NEW_CLIENT_DELAY)  # Direwolf reads a new client after up to 1 s
        yield adapter
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    # Waits for a real external effect (a TCP connection), polling: no fake clock reaches it.
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


def from_bot_to(op: str, kind: type[Any]) -> Callable[[Frame], bool]:
    """Matches APRS packets of ``kind`` (AprsAck, AprsMessage) from BOT-1 addressed to ``op``."""

    def match(frame: Frame) -> bool:
        if frame.source != BOT or frame.type is not FrameType.UI:
            return False
        try:
            packet = aprs.parse(frame.info)
        except aprs.AprsError:
            return False
        return isinstance(packet, kind) and packet.addressee == op

    return match


async def expect(operator: KissOperator, match: Callable[[Frame], bool], timeout: float = 8) -> Any:
    frame = await asyncio.to_thread(operator.expect, match, timeout)
    return aprs.parse(frame.info) if frame.info.startswith(b":") else frame


async def nothing_more(
    operator: KissOperator, match: Callable[[Frame], bool], seconds: float
) -> bool:
    try:
        await asyncio.to_thread(operator.expect, match, seconds)
    except TimeoutError:
        return True
    return False


async def test_ui_frame_echoed_over_kiss_tcp(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}"):
        operator.send_ui("N0CALL-2", "BOT-1", b"ping\r")
        reply = await expect(
            operator, lambda f: f.source == BOT and f.destination == Callsign("N0CALL", 2)
        )
        assert reply.type is FrameType.UI and reply.info == b"echo: ping\r"


async def test_aprs_acked_answered_and_repeat_not_delivered_twice(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    op = "N0CALL-3"
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}") as adapter:
        operator.send_ui(op, "APZXYZ", b":BOT-1    :help{17")
        assert await expect(operator, from_bot_to(op, aprs.AprsAck)) == aprs.AprsAck(op, "17")
        reply = await expect(operator, from_bot_to(op, aprs.AprsMessage))
        assert reply.text == HELP and reply.msgno
        operator.send_ui(op, "APZXYZ", f":BOT-1    :ack{reply.msgno}".encode())
        # our ack "got lost": the operator sends the same message again
        operator.send_ui(op, "APZXYZ", b":BOT-1    :help{17")
        assert await expect(operator, from_bot_to(op, aprs.AprsAck)) == aprs.AprsAck(op, "17")
        assert await nothing_more(operator, from_bot_to(op, aprs.AprsMessage), 2.0)
        station = adapter.station
        assert station is not None and station.messenger.outstanding == 0


async def test_repeat_after_a_gateway_restart_is_acked_not_delivered(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    op = "N0CALL-5"
    state = tempfile.mkdtemp(prefix="ax25-state-")
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}", AX25_STATE_DIR=state):
        operator.send_ui(op, "APZXYZ", b":BOT-1    :remember me{44")
        await expect(operator, from_bot_to(op, aprs.AprsAck))
        reply = await expect(operator, from_bot_to(op, aprs.AprsMessage))
        operator.send_ui(op, "APZXYZ", f":BOT-1    :ack{reply.msgno}".encode())
        await asyncio.sleep(0.5)  # the ack's air time, before the gateway goes away
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}", AX25_STATE_DIR=state):
        operator.send_ui(op, "APZXYZ", b":BOT-1    :remember me{44")
        assert await expect(operator, from_bot_to(op, aprs.AprsAck)) == aprs.AprsAck(op, "44")
        assert await nothing_more(operator, from_bot_to(op, aprs.AprsMessage), 2.0)


async def test_long_reply_in_67_char_parts_resent_until_acked(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    op = "N0CALL-4"
    text = " ".join(f"word{i:02d}" for i in range(20))  # the echo is 145 characters
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}"):
        operator.send_ui(op, "APZXYZ", b":BOT-1    :" + text.encode() + b"{5")
        await expect(operator, from_bot_to(op, aprs.AprsAck))
        first = await expect(operator, from_bot_to(op, aprs.AprsMessage))
        # not acked: the same part (same number) comes again after the retry interval
        again = await expect(operator, from_bot_to(op, aprs.AprsMessage))
        assert again == first
        parts = [first]
        for _ in range(2):
            operator.send_ui(op, "APZXYZ", f":BOT-1    :ack{parts[-1].msgno}".encode())
            part = await expect(operator, from_bot_to(op, aprs.AprsMessage))
            while part.msgno == parts[-1].msgno:  # a re-send that crossed our ack on the air
                part = await expect(operator, from_bot_to(op, aprs.AprsMessage))
            parts.append(part)
        operator.send_ui(op, "APZXYZ", f":BOT-1    :ack{parts[-1].msgno}".encode())
        assert all(len(p.text) <= 67 for p in parts)
        assert " ".join(p.text for p in parts) == f"echo: {text}"
        assert len({p.msgno for p in parts}) == 3
        # acked: re-sending stops
        operator.take(from_bot_to(op, aprs.AprsMessage))
        assert await nothing_more(operator, from_bot_to(op, aprs.AprsMessage), 3.5)


async def test_aprs_over_agw_with_both_c_bits_is_acked(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    op = "N0CALL-6"
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}"):
        await asyncio.to_thread(agw_unproto, direwolf.b.agw_port, op, "APRS", b":BOT-1    :hi{3")
        assert await expect(operator, from_bot_to(op, aprs.AprsAck)) == aprs.AprsAck(op, "3")
        reply = await expect(operator, from_bot_to(op, aprs.AprsMessage))
        assert reply.text == "echo: hi"
        operator.send_ui(op, "APZXYZ", f":BOT-1    :ack{reply.msgno}".encode())


async def test_connection_request_refused_with_dm(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    op = Callsign("N0CALL", 7)
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}"):
        operator.send(Frame(BOT, op, FrameType.SABM, poll_final=True))
        dm = await expect(operator, lambda f: f.source == BOT and f.destination == op)
        assert (dm.type, dm.command, dm.poll_final) == (FrameType.DM, False, True)


def from_bot_to_station(op: Callsign) -> Callable[[Frame], bool]:
    return lambda frame: frame.source == BOT and frame.destination == op


async def test_serial_pty_tnc_with_stale_input_flushed(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    assert direwolf.a.pty_path is not None
    to_op = from_bot_to_station(Callsign("N0CALL", 8))
    # Heard while nobody has the pty open: whatever of it waits in the pty must not be
    # delivered (pyserial's open flushes the input; the transport flushes it explicitly too).
    operator.send_ui("N0CALL-8", "BOT-1", b"stale\r")
    await asyncio.sleep(1.0)  # the frame's air time and Direwolf's write into the pty
    async with gateway(f"serial://{direwolf.a.pty_path}?baud=9600"):
        operator.send_ui("N0CALL-8", "BOT-1", b"over the pty\r")
        reply = await expect(operator, to_op)
        assert reply.info == b"echo: over the pty\r"
        assert await nothing_more(operator, to_op, 1.0)  # "stale" was flushed on open


@pytest.mark.parametrize("kind", ["tcp", "serial"])
async def test_tnc_killed_and_restarted_adapter_reconnects(kind: str) -> None:
    require_direwolf()
    pair = DirewolfPair.start(new_run_dir(), baud=9600, pty=kind == "serial")
    client = KissOperator(pair.b.kiss_port)
    tnc = (
        f"tcp://127.0.0.1:{pair.a.kiss_port}"
        if kind == "tcp"
        else f"serial://{pair.a.pty_link}?baud=9600"  # the pty's name changes on restart
    )
    try:
        await asyncio.sleep(NEW_CLIENT_DELAY)
        async with gateway(tnc) as adapter:
            transport = adapter.transport
            assert transport is not None and transport.connections == 1
            await asyncio.to_thread(pair.a.restart)  # SIGKILL, then start on the same ports
            await until(lambda: transport.connections == 2 and transport.connected, timeout=20)
            await asyncio.sleep(NEW_CLIENT_DELAY)
            client.send_ui("N0CALL-9", "BOT-1", b"still there?\r")
            reply = await expect(
                client, lambda f: f.source == BOT and f.destination == Callsign("N0CALL", 9)
            )
            assert reply.info == b"echo: still there?\r"
    finally:
        client.close()
        pair.stop()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


async def test_status_and_metrics_show_the_ax25_adapter(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    server = await asyncio.to_thread(
        WebServer,
        "ax25",
        ASGI_APPLICATION="project.asgi.application",
        AX25_TNC=f"tcp://127.0.0.1:{direwolf.a.kiss_port}",
        AX25_CALLSIGN="BOT-1",
        AX25_APRS_PATH="",
        AX25_STATE_DIR=tempfile.mkdtemp(prefix="ax25-state-"),
    )
    try:

        async def status() -> dict[str, Any]:
            return dict(json.loads(await asyncio.to_thread(fetch, server.http + "/status.json")))

        async def connected() -> bool:
            details = (await status())["details"].get("ax25", {})
            return bool(details.get("tnc_connected", {}).get("value"))

        deadline = time.monotonic() + 15
        while not await connected():
            assert time.monotonic() < deadline, server.output
            await asyncio.sleep(0.1)
        await asyncio.sleep(NEW_CLIENT_DELAY)
        operator.send_ui("N0CALL-11", "BOT-1", b"status?\r")
        reply = await expect(operator, from_bot_to_station(Callsign("N0CALL", 11)))
        # The project's application: the bot answers a station that is in no room yet.
        assert reply.info == b"You are not in a room: /join ROOM first (/rooms lists them).\r"
        data = await status()
        assert data["adapters"]["ax25"]["up"] is True
        frames = data["details"]["ax25"]["frames"]
        assert frames["in"] >= 1 and frames["out"] >= 1
        metrics = await asyncio.to_thread(fetch, server.http + "/metrics")
        assert 'gateway_ax25_frames_total{direction="out"}' in metrics
        assert "gateway_ax25_tnc_connected 1.0" in metrics
    finally:
        server.stop()


async def test_malformed_frames_over_the_air_are_dropped_and_the_link_stays_up(
    direwolf: DirewolfPair, operator: KissOperator
) -> None:
    def dropped() -> float:
        return gateway_metrics.snapshot().get("ax25.dropped", {}).get("frame", 0.0)

    before = dropped()
    async with gateway(f"tcp://127.0.0.1:{direwolf.a.kiss_port}"):
        # Direwolf transmits and passes on whatever a KISS client gives it, FCS made good:
        # a lower-case callsign, bytes that are not AX.25, an unknown U-frame control octet.
        for payload in (
            bytes.fromhex("c2 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 03 f0") + b"bad call",
            bytes(range(1, 30)),
            bytes.fromhex("84 9e a8 40 40 40 e2 9c 60 86 82 98 98 63 0b"),
        ):
            operator.sock.sendall(encode_data(payload))
        operator.send_ui("N0CALL-12", "BOT-1", b"still fine?\r")
        reply = await expect(operator, from_bot_to_station(Callsign("N0CALL", 12)))
        assert reply.info == b"echo: still fine?\r"
        assert dropped() == before + 3
