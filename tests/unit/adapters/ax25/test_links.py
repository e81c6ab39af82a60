"""The link manager on the real runtime and real consumers, with operator stations simulated by
Link objects on a fake clock (frames go through encode_frame/decode_frame)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import REGISTRY

from adapters.ax25.frame import Callsign, Frame, FrameType, Hop, decode_frame, encode_frame
from adapters.ax25.link import Link, LinkState
from adapters.ax25.link_events import (
    ConnectRequest,
    DataReceived,
    Disconnected,
    DisconnectReason,
    LinkConfig,
    LinkEvent,
)
from adapters.ax25.links import LinkManager, Links, link_config_from_settings
from gateway.ax25.routing import CallsignRouter
from gateway.clock import FakeClock, TimerHandleLike
from gateway.exceptions import ConfigurationError
from gateway.generic.ax25link import AsyncAx25LinkConsumer
from gateway.layers import InMemoryChannelLayer
from gateway.runtime import ApplicationRuntime

BOT1 = Callsign("BOT", 1)
BOT2 = Callsign("BOT", 2)
CONFIG = LinkConfig(paclen=32, window=4, t1=3.0, t2=0.5, n2=5)

log: list[tuple[str, str, object]] = []


class Node(AsyncAx25LinkConsumer):
    async def connect(self) -> None:
        if self.scope["remote"] == "N0BAD":
            await self.reject()
            return
        await self.accept()
        await self.send(text=f"Welcome {self.scope['remote']} to {self.scope['local']}\n")

    async def connected(self) -> None:
        log.append(("connected", self.scope["remote"], self.scope["initiator"]))
        await self.send(text="hello from the bot\n")

    async def receive(self, text: str, bytes_data: bytes) -> None:
        if text.strip() == "BYE":
            await self.send(text="73\n")
            await self.close()
        else:
            await self.send(bytes_data=bytes_data)

    async def disconnect(self, reason: str) -> None:
        log.append(("disconnect", self.scope["remote"], reason))


gate = asyncio.Event()


class Slow(AsyncAx25LinkConsumer):
    """Takes each piece of data only when the test opens the gate."""

    async def receive(self, text: str, bytes_data: bytes) -> None:
        await gate.wait()
        log.append(("slow", self.scope["remote"], bytes_data))


class Station:
    """An operator's station: a Link of its own, its timer on the shared fake clock."""

    def __init__(self, air: Air, call: Callsign, bot: Callsign, config: LinkConfig) -> None:
        self.air = air
        self.link = Link(call, bot, config)
        self.events: list[LinkEvent] = []
        self.timer: TimerHandleLike | None = None

    def service(self) -> None:
        self.air.to_gateway.extend(self.link.frames_to_send())
        self.events += self.link.events()
        if self.timer is not None:
            self.timer.cancel()
        when = self.link.get_timer()
        self.timer = None if when is None else self.air.clock.call_at(when, self.fire)

    def fire(self) -> None:
        self.timer = None
        self.link.handle_timer(self.air.clock.time())
        self.service()

    def received(self) -> bytes:
        return b"".join(e.data for e in self.events if isinstance(e, DataReceived))


class Air:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.to_stations: deque[Frame] = deque()
        self.to_gateway: deque[Frame] = deque()
        self.stations: dict[tuple[Callsign, Callsign], Station] = {}
        self.heard: list[Frame] = []
        self.lose: Callable[[Frame], bool] = lambda frame: False
        self.manager: LinkManager

    def transmit(self, frame: Frame, port: int) -> None:
        frame = decode_frame(encode_frame(frame))
        self.heard.append(frame)
        if not self.lose(frame):
            self.to_stations.append(frame)

    def station(self, call: str, bot: Callsign = BOT1, config: LinkConfig = CONFIG) -> Station:
        callsign = Callsign.parse(call)
        station = self.stations[(callsign, bot)] = Station(self, callsign, bot, config)
        return station

    async def pump(self) -> None:
        """Move frames both ways until nothing moves (no time passes)."""
        quiet = 0
        while quiet < 3:
            await self.clock.settle()
            moved = False
            while self.to_stations:
                frame = self.to_stations.popleft()
                station = self.stations.get((frame.destination, frame.source))
                if station is not None:
                    station.link.receive_frame(frame, self.clock.time())
                    station.service()
                moved = True
            while self.to_gateway:
                self.manager.frame_received(decode_frame(encode_frame(self.to_gateway.popleft())))
                moved = True
            quiet = 0 if moved else quiet + 1

    async def run(self, seconds: float, step: float = 0.1) -> None:
        """Let fake time pass, pumping frames between timer runs."""
        end = self.clock.time() + seconds
        while self.clock.time() < end:
            await self.pump()
            self.clock.advance(min(step, end - self.clock.time()))
        await self.pump()


@pytest.fixture
async def air() -> AsyncIterator[Air]:
    log.clear()
    gate.clear()
    clock = FakeClock(1000.0)
    air = Air(clock)
    app = CallsignRouter({"BOT-1": Node.as_asgi(), "BOT-2": Slow.as_asgi()})
    runtime = ApplicationRuntime(app, "ax25", queue_size=4)
    air.manager = LinkManager(
        runtime, air.transmit, [BOT1, BOT2], CONFIG, clock=clock, backlog_high=3, backlog_low=1
    )
    yield air
    gate.set()
    await runtime.shutdown()


async def connect(air: Air, station: Station) -> None:
    station.link.connect(air.clock.time())
    station.service()
    await air.pump()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_connect_greeting_echo_and_disconnect(air: Air) -> None:
    ends = sample("gateway_ax25_link_ends_total", reason="peer")
    i_sent = sample("gateway_ax25_link_frames_total", kind="i_sent")
    op = air.station("N0CALL-5")
    await connect(air, op)
    assert op.link.state is LinkState.CONNECTED
    await air.run(1.0)
    assert op.received() == b"Welcome N0CALL-5 to BOT-1\r"
    op.link.send_data(b"hello bot\r", air.clock.time())
    op.service()
    await air.run(1.0)
    assert op.received().endswith(b"hello bot\r")
    op.link.close(air.clock.time())
    op.service()
    await air.run(1.0)
    assert op.events[-1] == Disconnected(DisconnectReason.LOCAL)
    assert ("disconnect", "N0CALL-5", "peer") in log
    assert air.manager.links == 0
    assert sample("gateway_ax25_links") == 0
    assert sample("gateway_ax25_link_ends_total", reason="peer") == ends + 1
    assert sample("gateway_ax25_link_frames_total", kind="i_sent") == i_sent + 2


async def test_consumer_close_sends_disc_after_its_data(air: Air) -> None:
    op = air.station("N0CALL-5")
    await connect(air, op)
    op.link.send_data(b"BYE\r", air.clock.time())
    op.service()
    await air.run(2.0)
    assert op.received().endswith(b"73\r")
    assert op.events[-1] == Disconnected(DisconnectReason.PEER)
    assert ("disconnect", "N0CALL-5", "local") in log


async def test_reject_answers_dm_and_sabme_gets_dm(air: Air) -> None:
    bad = air.station("N0BAD")
    await connect(air, bad)
    assert bad.events[-1] == Disconnected(DisconnectReason.REFUSED)
    assert [f.type for f in air.heard] == [FrameType.DM]
    air.manager.frame_received(Frame(BOT1, Callsign("N0CALL", 7), FrameType.SABME, poll_final=True))
    assert air.heard[-1].type is FrameType.DM and air.heard[-1].poll_final


async def test_same_station_on_two_ssids_is_two_links(air: Air) -> None:
    five, six = air.station("N0CALL-5"), air.station("N0CALL-6")
    other = air.station("N0CALL-5", bot=BOT2)
    for station in (five, six, other):
        await connect(air, station)
    assert air.manager.links == 3
    for station in (five, six):
        station.link.send_data(f"I am {station.link.local}\r".encode(), air.clock.time())
        station.service()
    await air.run(2.0)
    assert five.received().endswith(b"I am N0CALL-5\r")
    assert six.received().endswith(b"I am N0CALL-6\r")
    assert b"I am" not in other.received()


async def test_slow_consumer_gets_rnr_and_loses_nothing_and_stalls_no_other_link(
    air: Air,
) -> None:
    slow = air.station("N0CALL-5", bot=BOT2)
    fast = air.station("N0CALL-6")
    await connect(air, slow)
    await connect(air, fast)
    pieces = [f"piece {n:02d}|".encode() for n in range(12)]
    for piece in pieces:
        slow.link.send_data(piece, air.clock.time())
    slow.service()
    await air.run(5.0)
    rnr = [f for f in air.heard if f.type is FrameType.RNR and f.destination == slow.link.local]
    assert rnr, "the slow consumer's link never said RNR"
    assert slow.link.peer_busy
    # Meanwhile the other link works.
    fast.link.send_data(b"still there?\r", air.clock.time())
    fast.service()
    await air.run(2.0)
    assert fast.received().endswith(b"still there?\r")
    gate.set()
    await air.run(60.0, step=0.5)
    got = b"".join(entry[2] for entry in log if entry[0] == "slow")  # type: ignore[misc]
    assert got == b"".join(pieces)
    assert not slow.link.peer_busy  # RR said the consumer caught up


async def test_outgoing_connect_opens_a_scope_on_ua(air: Air) -> None:
    op = air.station("N0CALL-9")
    air.manager.connect(BOT1, Callsign.parse("N0CALL-9"))
    await air.pump()
    assert isinstance(op.events[0], ConnectRequest)
    op.link.accept(air.clock.time())
    op.service()
    await air.run(2.0)
    assert ("connected", "N0CALL-9", "local") in log
    assert op.received() == b"hello from the bot\r"


async def test_outgoing_connect_to_nobody_fails_after_n2(air: Air) -> None:
    air.manager.connect(BOT1, Callsign.parse("N0CALL-8"))
    await air.run(200.0, step=1.0)
    assert [f.type for f in air.heard] == [FrameType.SABM] * (CONFIG.n2 + 1)
    assert air.manager.links == 0
    assert air.manager.runtime.open_scopes == 0


async def test_one_clock_callback_for_all_links(air: Air) -> None:
    for n in range(1, 5):
        await connect(air, air.station(f"N0CALL-{n}"))
    stations_timers = sum(1 for s in air.stations.values() if s.timer is not None)
    assert air.clock.pending_timers - stations_timers == 1


async def test_frames_for_others_or_not_yet_digipeated_are_ignored(air: Air) -> None:
    op = Callsign("N0CALL", 3)
    air.manager.frame_received(Frame(Callsign("OTHER"), op, FrameType.SABM, poll_final=True))
    via = (Hop(Callsign("DIGI"), repeated=False),)
    air.manager.frame_received(Frame(BOT1, op, FrameType.SABM, path=via, poll_final=True))
    assert air.heard == []
    air.manager.frame_received(Frame(BOT1, op, FrameType.I, ns=0, nr=0, pid=0xF0, poll_final=True))
    assert [(f.type, f.poll_final) for f in air.heard] == [(FrameType.DM, True)]


async def test_peer_vanishing_mid_transfer_ends_the_scope_with_link_failure(air: Air) -> None:
    op = air.station("N0CALL-4")
    await connect(air, op)
    op.link.send_data(b"ping\r", air.clock.time())
    op.service()  # on the air now...
    del air.stations[(op.link.local, BOT1)]  # ...and the operator switches the radio off
    await air.run(400.0, step=5.0)
    assert ("disconnect", "N0CALL-4", "link failure") in log
    assert air.manager.links == 0


def test_link_settings_are_checked_and_named() -> None:
    class Settings:
        AX25_PACLEN = "200"
        AX25_WINDOW = "7"
        AX25_T1 = "4.5"
        AX25_N2 = "3"

    config = link_config_from_settings(Settings())
    assert (config.paclen, config.window, config.t1, config.n2) == (200, 7, 4.5, 3)
    assert config.t3 == LinkConfig().t3

    class Bad:
        AX25_WINDOW = "eight"

    with pytest.raises(ConfigurationError, match="AX25_WINDOW"):
        link_config_from_settings(Bad())
    Bad.AX25_WINDOW = "8"
    with pytest.raises(ConfigurationError, match=r"AX25_WINDOW must be 1\.\.7"):
        link_config_from_settings(Bad())


async def test_outgoing_connect_requested_on_the_channel_layer(air: Air) -> None:
    layer = InMemoryChannelLayer()
    listener = asyncio.ensure_future(air.manager.serve_connect_requests(layer))
    reply = await layer.new_channel()
    await layer.send(
        "ax25.connect",
        {"type": "ax25.connect", "local": "BOT-1", "remote": "N0CALL-8", "reply_channel": reply},
    )
    await layer.send(
        "ax25.connect",
        {"type": "ax25.connect", "local": "BOT-1", "remote": "not a call", "reply_channel": reply},
    )
    await air.pump()
    failed = await layer.receive(reply)
    assert failed["type"] == "ax25.connect.failed" and "NOT A CALL" in failed["reason"]
    assert [f.type for f in air.heard] == [FrameType.SABM]
    await air.run(200.0, step=1.0)  # nobody answers N0CALL-8
    assert await layer.receive(reply) == {
        "type": "ax25.connect.failed",
        "local": "BOT-1",
        "remote": "N0CALL-8",
        "reason": "link failure",
    }
    listener.cancel()


class Host:
    """What the station gives Links: callsigns, runtime, clock, paced transmit, scope."""

    def __init__(self, runtime: ApplicationRuntime, clock: FakeClock) -> None:
        self.callsigns = frozenset({BOT1})
        self.runtime = runtime
        self.clock = clock
        self.sent: list[tuple[Frame, int]] = []

    def transmit(self, frame: Frame, port: int) -> asyncio.Future[float]:
        self.sent.append((frame, port))
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        done.set_result(self.clock.time())  # on the air at once
        return done

    def scope(self, local: Callsign, remote: Callsign, mode: str, path: tuple[Hop, ...]) -> dict:
        return {"type": "ax25", "mode": mode, "local": str(local), "remote": str(remote)}


async def test_station_seam_runs_link_timers_on_its_own_callback(settings: object) -> None:
    settings.AX25_T1 = "2"  # type: ignore[attr-defined]
    settings.AX25_BYTES_PER_SECOND = "1000000"  # type: ignore[attr-defined]  # air time ~0
    clock = FakeClock(50.0)
    runtime = ApplicationRuntime(CallsignRouter({"BOT-1": Node.as_asgi()}), "ax25")
    host = Host(runtime, clock)
    links = Links(host)
    op = Callsign("N0CALL", 1)
    links.frame_received(Frame(BOT1, op, FrameType.SABM, poll_final=True), 0, clock.time())
    await clock.settle()
    assert [f.type for f, _ in host.sent] == [FrameType.UA, FrameType.I]  # UA, then greeting
    assert links.get_timer() is None  # the station needs no timer for the links...
    clock.advance(2.1)  # ...their own fires T1: the greeting was not acknowledged
    assert host.sent[-1][0].type is FrameType.RR and host.sent[-1][0].poll_final
    await links.aclose()
    await runtime.shutdown()
