"""A link behind the station's pacer: T1 counts from when the pacer really releases its frames.

The station paces everything it sends (AX25_BYTES_PER_SECOND x AX25_PACING_WINDOW bytes per
window). When other traffic has used the budget, the pacer holds a link's frames back; the
link must not time them out (T1) before they even reached the TNC. Fake clock, the TNC is a
list of (time, frame) writes.
"""

from __future__ import annotations

from adapters.ax25.frame import Callsign, Frame, FrameType, decode_frame
from adapters.ax25.kiss import KissDecoder
from adapters.ax25.link_events import LinkConfig
from adapters.ax25.links import LinkHost, Links
from gateway.generic.ax25link import AsyncAx25LinkConsumer
from tests.integration.ax25.echo import RadioBot
from tests.unit.adapters.ax25.test_station import close, config, make_rig

BOT1 = Callsign("BOT", 1)
BOT2 = Callsign("BOT", 2)
OP = Callsign("N0CALL", 5)
RATE = 120.0  # bytes/s: 1200 baud
LINK = LinkConfig(paclen=128, window=4, t1=3.0, n2=10, bytes_per_second=RATE)


class Sender(AsyncAx25LinkConsumer):
    """Accepts and sends a full window of I frames at once."""

    async def connect(self) -> None:
        await self.accept()
        await self.send(bytes_data=b"x" * (4 * 128))


def links_factory(host: LinkHost) -> Links:
    return Links(host, LINK)


async def test_t1_waits_for_frames_the_pacer_holds_back() -> None:
    # The default pacing window: 1,200 bytes per 10 s.
    rig = await make_rig(
        config(bytes_per_second=RATE, pacing_window=10.0),
        apps={"BOT-1": Sender.as_asgi(), "BOT-2": RadioBot},
        links_factory=links_factory,
    )
    writes: list[tuple[float, Frame]] = []
    decoder = KissDecoder()

    async def write(data: bytes) -> None:
        for kiss in decoder.feed(data):
            writes.append((rig.clock.time(), decode_frame(kiss.payload)))

    rig.station._write = write
    # Datagram traffic uses most of the budget first: 5 echoes of ~180 bytes on the air.
    for n in range(5):
        rig.hear(Frame(BOT2, OP, FrameType.UI, pid=0xF0, info=b"y" * 160 + bytes([48 + n])))
    await rig.clock.settle()
    rig.hear(Frame(BOT1, OP, FrameType.SABM, poll_final=True))
    await rig.clock.settle()
    for _ in range(400):  # 40 s, nobody answers: only T1 makes the link speak again
        await rig.advance(0.1)
    link_frames = [(at, f) for at, f in writes if f.source == BOT1]
    first = [(at, f) for at, f in link_frames if f.type is FrameType.I]
    assert [f.ns for _, f in first[:4]] == [0, 1, 2, 3]
    held_until = first[3][0]
    assert held_until - writes[0][0] > 6.0, "the pacer did not hold the window back"
    # T1 expiry polls the peer (RR/P): not before the frames released last are on the air
    # (3 I frames of 128 bytes: 148 bytes each with addresses, control, PID, FCS and flags)
    # and T1 has run after them. Before the fix T1 fired while the pacer still held them.
    polls = [at for at, f in link_frames if f.type is FrameType.RR and f.poll_final]
    assert polls, "T1 never expired"
    on_air = held_until + 3 * 148 / RATE
    assert polls[0] >= on_air + LINK.t1 - 0.1, (
        f"T1 expired at +{polls[0] - writes[0][0]:.1f} s; the window left the pacer at "
        f"+{held_until - writes[0][0]:.1f} s and the TNC at +{on_air - writes[0][0]:.1f} s"
    )
    assert sum(1 for _, f in link_frames if f.type is FrameType.I) == 4  # nothing resent early
    await close(rig)
