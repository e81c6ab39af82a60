"""The station on the real runtime, with a fake clock and the TNC replaced by a list of writes.

Bytes in (KISS as a TNC sends them), frames out (what would go to the TNC); time moves only
when the test says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.ax25 import aprs
from adapters.ax25.config import Ax25Config, TncAddress
from adapters.ax25.frame import Callsign, Frame, FrameType, Hop, decode_frame, encode_frame
from adapters.ax25.kiss import KissDecoder, encode_data
from adapters.ax25.links import LinkHost, Links
from adapters.ax25.messaging import Messenger, RetryPolicy
from adapters.ax25.seen import SeenMessages
from adapters.ax25.station import Station
from adapters.ax25.transport import TncUnavailable
from gateway.clock import FakeClock
from gateway.routing import CallsignRouter
from gateway.runtime import ApplicationRuntime
from tests.integration.ax25.echo import HELP, RadioBot

BOT = Callsign("BOT", 1)
OP = Callsign("N0CALL", 5)
TOCALL = Callsign("APZGWY")


class Monitor:
    """A monitor application that records every event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            event = await receive()
            if event["type"] == "ax25.disconnect":
                return
            self.events.append(event)


@dataclass
class Rig:
    station: Station
    clock: FakeClock
    runtime: ApplicationRuntime
    monitor: Monitor
    written: list[bytes] = field(default_factory=list)
    decoder: KissDecoder = field(default_factory=KissDecoder)

    def hear(self, frame: Frame) -> None:
        self.station.data_received(encode_data(encode_frame(frame)))

    def hear_aprs(self, info: bytes, source: Callsign = OP, path: tuple[Hop, ...] = ()) -> None:
        self.hear(Frame(TOCALL, source, FrameType.UI, path=path, pid=0xF0, info=info))

    async def sent(self) -> list[Frame]:
        """Frames written to the TNC since the last call (after letting tasks run)."""
        await self.clock.settle()
        data, self.written[:] = b"".join(self.written), []
        return [decode_frame(k.payload) for k in self.decoder.feed(data)]

    async def written_append(self, data: bytes) -> None:
        self.written.append(data)

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.clock.settle()


def config(**overrides: Any) -> Ax25Config:
    values: dict[str, Any] = {
        "tnc": TncAddress("tcp", host="127.0.0.1", port=1),
        "callsigns": (BOT, Callsign("BOT", 2)),
        "retry": RetryPolicy(initial=10, factor=2, maximum=60, max_tries=3),
        "bytes_per_second": 1000.0,
        "aprs_path": (Hop(Callsign("WIDE2", 1)),),
    }
    values.update(overrides)
    return Ax25Config(**values)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    yield await make_rig(config())


async def make_rig(
    cfg: Ax25Config,
    layer: Any = None,
    *,
    apps: dict[str, Any] | None = None,
    links_factory: Callable[[LinkHost], Links] = Links,
) -> Rig:
    clock = FakeClock(start=100.0)
    monitor = Monitor()
    apps = apps or {"BOT-1": RadioBot, "BOT-2": RadioBot}
    router = CallsignRouter(apps, monitor=monitor)
    runtime = ApplicationRuntime(router, "ax25", clock=clock)
    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    station = Station(
        cfg,
        runtime,
        write,
        seen=SeenMessages(None, 3600),
        messenger=Messenger(cfg.retry, first_msgno=1),
        monitor=True,
        clock=clock,
        layer=layer,
        links_factory=links_factory,
    )
    station.start()
    rig = Rig(station, clock, runtime, monitor, written)
    return rig


async def close(rig: Rig) -> None:
    # Consumers may be waiting for a paced transmission: let fake time run while shutting down.
    closing = asyncio.ensure_future(rig.runtime.shutdown())
    while not closing.done():
        await rig.advance(1.0)
    await closing
    await rig.station.aclose(drain_timeout=0)


def aprs_of(frame: Frame) -> aprs.AprsPacket | None:
    return aprs.parse(frame.info)


async def test_numbered_message_acked_at_once_and_answered(rig: Rig) -> None:
    rig.hear_aprs(b":BOT-1    :help{42")
    ack, reply = await rig.sent()
    assert (ack.source, ack.destination, ack.path) == (BOT, TOCALL, (Hop(Callsign("WIDE2", 1)),))
    assert aprs_of(ack) == aprs.AprsAck("N0CALL-5", "42")
    assert aprs_of(reply) == aprs.AprsMessage("N0CALL-5", HELP, "1")
    await close(rig)


async def test_repeat_is_acked_again_but_not_delivered_twice(rig: Rig) -> None:
    rig.hear_aprs(b":BOT-1    :hello{7")
    assert len(await rig.sent()) == 2
    rig.hear_aprs(b":BOT-1    :hello{7")
    [ack] = await rig.sent()
    assert aprs_of(ack) == aprs.AprsAck("N0CALL-5", "7")
    await close(rig)


async def test_unnumbered_message_delivered_without_ack(rig: Rig) -> None:
    rig.hear_aprs(b":BOT-2    :hi")
    [reply] = await rig.sent()
    assert reply.source == Callsign("BOT", 2)
    assert aprs_of(reply) == aprs.AprsMessage("N0CALL-5", "echo: hi", "1")
    await close(rig)


async def test_resent_on_schedule_until_acked(rig: Rig) -> None:
    rig.hear_aprs(b":BOT-1    :ping{1")
    _, reply = await rig.sent()
    await rig.advance(9.9)
    assert await rig.sent() == []
    await rig.advance(0.1)
    [again] = await rig.sent()
    assert again.info == reply.info
    rig.hear_aprs(b":BOT-1    :ack1")
    await rig.advance(100)
    assert await rig.sent() == []
    assert rig.station.messenger.outstanding == 0
    await close(rig)


async def test_gives_up_after_max_tries(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.hear_aprs(b":BOT-1    :ping{1")
    await rig.sent()
    await rig.advance(10)
    await rig.advance(20)
    assert len(await rig.sent()) == 2  # tries 2 and 3
    await rig.advance(60)
    assert await rig.sent() == []
    assert rig.station.messenger.outstanding == 0
    assert "not acked after 3 tries" in caplog.text
    await close(rig)


async def test_reply_ack_in_a_message_stops_the_resending(rig: Rig) -> None:
    rig.hear_aprs(b":BOT-1    :ping{1")
    await rig.sent()
    rig.hear_aprs(b":BOT-1    :thanks{2}1")  # acks our message 1 and sends its message 2
    ack, reply = await rig.sent()
    assert aprs_of(ack) == aprs.AprsAck("N0CALL-5", "2")
    assert aprs_of(reply) == aprs.AprsMessage("N0CALL-5", "echo: thanks", "2")
    rig.hear_aprs(b":BOT-1    :ack2")
    await rig.advance(100)
    assert await rig.sent() == []
    await close(rig)


async def test_long_reply_goes_in_numbered_parts_one_after_the_other(rig: Rig) -> None:
    text = " ".join(f"word{i:02d}" for i in range(20))  # "echo: " + 139 characters
    rig.hear_aprs(b":BOT-1    :" + text.encode() + b"{5")
    _, part1 = await rig.sent()
    parts = [aprs_of(part1)]
    for _ in range(2):
        previous = parts[-1]
        assert isinstance(previous, aprs.AprsMessage) and previous.msgno is not None
        rig.hear_aprs(b":BOT-1    :ack" + previous.msgno.encode())
        [frame] = await rig.sent()
        parts.append(aprs_of(frame))
    texts = [p.text for p in parts if isinstance(p, aprs.AprsMessage)]
    assert all(len(t) <= 67 for t in texts)
    assert " ".join(texts) == f"echo: {text}"
    assert [p.msgno for p in parts if isinstance(p, aprs.AprsMessage)] == ["1", "2", "3"]
    await close(rig)


async def test_ui_datagram_echoed_back_along_the_reversed_path(rig: Rig) -> None:
    path = (Hop(Callsign("DIGI", 1), repeated=True), Hop(Callsign("DIGI", 2), repeated=True))
    rig.hear(Frame(BOT, OP, FrameType.UI, path=path, pid=0xF0, info=b"ping\r"))
    [reply] = await rig.sent()
    assert (reply.source, reply.destination) == (BOT, OP)
    assert reply.path == (Hop(Callsign("DIGI", 2)), Hop(Callsign("DIGI", 1)))
    assert reply.info == b"echo: ping\r" and reply.type is FrameType.UI
    await close(rig)


@pytest.mark.parametrize("ftype", [FrameType.SABM, FrameType.SABME])
async def test_connection_request_answered_with_dm(rig: Rig, ftype: FrameType) -> None:
    rig.hear(Frame(BOT, OP, ftype, poll_final=True))
    [dm] = await rig.sent()
    assert dm == Frame(OP, BOT, FrameType.DM, command=False, poll_final=True)
    await close(rig)


async def test_frames_for_others_are_only_monitored(rig: Rig) -> None:
    rig.hear(Frame(Callsign("OTHER"), OP, FrameType.SABM, poll_final=True))
    rig.hear(Frame(Callsign("OTHER"), OP, FrameType.UI, pid=0xF0, info=b"x",
                   path=(Hop(Callsign("WIDE1", 1), repeated=True),)))  # fmt: skip
    rig.hear_aprs(b":SOMEONE  :hi{1")
    assert await rig.sent() == []
    assert [e["frame_type"] for e in rig.monitor.events] == ["SABM", "UI", "UI"]
    assert rig.monitor.events[1]["path"] == ["WIDE1-1*"]
    await close(rig)


async def test_malformed_input_is_dropped_and_the_next_frame_handled(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.station.data_received(b"\xc0\x00\x01\x02\xc0")  # not an AX.25 frame
    rig.station.data_received(b"\xc0\x00a\xdbZ\xc0")  # bad KISS escape
    rig.hear_aprs(b":BOT-1 :short addressee")  # malformed APRS
    rig.hear_aprs(b":BOT-1    :help{1")
    assert len(await rig.sent()) == 2
    assert "malformed AX.25 frame dropped" in caplog.text
    assert "dropped KISS frame" in caplog.text
    assert "malformed APRS message" in caplog.text
    await close(rig)


async def test_transmissions_are_paced() -> None:
    rig = await make_rig(config(bytes_per_second=50.0, pacing_window=10.0))  # 500 bytes / 10 s
    for n in range(3):
        rig.hear(Frame(BOT, OP, FrameType.UI, pid=0xF0, info=b"x" * 150 + bytes([48 + n])))
    first = await rig.sent()
    assert len(first) == 2  # 2 x ~180 bytes fit the budget, the third must wait
    await rig.advance(10)
    assert len(await rig.sent()) == 1
    await close(rig)


async def test_input_after_close_is_ignored(rig: Rig) -> None:
    await close(rig)
    rig.hear(Frame(BOT, OP, FrameType.SABM, poll_final=True))
    assert await rig.sent() == []


async def test_a_failing_handler_does_not_stop_the_station(
    rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(frame: Frame, port: int, now: float) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(rig.station.links, "frame_received", broken)
    rig.hear(Frame(BOT, OP, FrameType.SABM, poll_final=True))
    rig.hear_aprs(b":BOT-1    :help{1")
    assert len(await rig.sent()) == 2
    assert "error handling" in caplog.text
    await close(rig)


async def test_acks_are_not_held_back_by_queued_replies() -> None:
    rig = await make_rig(config(bytes_per_second=50.0, pacing_window=10.0))  # 500 bytes / 10 s
    for n in range(5):
        rig.hear(Frame(BOT, OP, FrameType.UI, pid=0xF0, info=b"x" * 150 + bytes([48 + n])))
    assert len(await rig.sent()) == 2  # three replies wait for the window
    rig.hear_aprs(b":BOT-1    :hi{9")
    await rig.advance(10)
    sent = await rig.sent()
    assert aprs.AprsAck("N0CALL-5", "9") in [aprs_of(f) for f in sent if f.info[:1] == b":"]
    echoes = [f for f in sent if f.info.startswith(b"echo: x")]
    assert len(echoes) < 3  # ...while a reply queued before it still waits
    await close(rig)


async def test_ui_reply_lost_when_the_tnc_stays_away(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    async def tnc_gone(data: bytes) -> None:
        raise TncUnavailable("KISS TNC tcp://127.0.0.1:1 is not connected; reconnecting")

    rig.station._write = tnc_gone
    rig.hear(Frame(BOT, OP, FrameType.UI, pid=0xF0, info=b"ping\r"))
    for _ in range(10):  # the pacer's retries back off on the fake clock
        await rig.advance(30)
    assert "UI BOT-1>N0CALL-5 not sent" in caplog.text
    # the consumer is still there: the next datagram is answered once the TNC is back
    rig.station._write = rig.written_append
    rig.hear(Frame(BOT, OP, FrameType.UI, pid=0xF0, info=b"again\r"))
    await rig.advance(1)
    assert [f.info for f in await rig.sent()] == [b"echo: again\r"]
    await close(rig)


async def test_largest_ui_frame_fits_the_smallest_budget() -> None:
    # 256 info bytes that all need KISS escaping: the pacing cost is the air size, not the
    # escaped size, so the smallest budget the settings allow still carries it.
    rig = await make_rig(config(bytes_per_second=40.0, pacing_window=10.0))  # 400 bytes
    send = rig.station._sender(BOT, OP, ())
    sending = asyncio.ensure_future(send({"type": "ax25.ui", "bytes": b"\xc0" * 256}))
    [frame] = await rig.sent()
    await sending
    assert frame.info == b"\xc0" * 256
    await close(rig)
