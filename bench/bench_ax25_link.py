"""AX.25 connected mode: seconds for a 10 KB transfer each way at 1200 baud, ours vs Direwolf.

The channel is two Direwolf 1.6 instances hearing each other through the test relay
(tests/integration/ax25/direwolf.py), at 1200 baud, clean and with 10 % of the transmissions
lost. The losses are a schedule, not a dice roll: in each direction the relay drops
transmissions N, N+10, N+20, ... of the session (``--drop-at N+10``; N is 1..10, a different
one per run, drawn with seed 5: 10, 5, 6, 7, ...), and
every session runs on a fresh Direwolf pair, so ours and the reference lose the same
transmissions of their session (random drops fell differently on each side: an unfair
comparison). The operator is Direwolf B driven over AGW, as a
terminal program does. The station it connects to, BOT-1, is in turn:

- **ours**: the ax25 adapter on Direwolf A's KISS port (A is a plain modem; our link layer
  runs the session), with a bench consumer on BOT-1;
- **reference**: Direwolf A's own link layer (an AGW client on A registers BOT-1 and runs the
  same bench logic), i.e. Direwolf <-> Direwolf.

Both sides use the same window (MAXFRAME / AX25_WINDOW 4) and PACLEN (128), and v2.0 (B has
``V20 BOT-1``; our link answers SABME with DM anyway, and v2.2's SREJ would make it a different
protocol). Our transmit pacing is set to the channel's own limit (150 bytes/s at 1200 baud;
the link takes the same rate as the channel's), with a 60 s pacing window, so the pacer never
holds back part of a link's window (the default 10 s budget of 1,200 bytes is about 8 frames;
the link now times T1 from the pacer's real releases, so the default works too: see
docs/performance.md).

One session: connect; the operator uploads BENCH_AX25_LINK_BYTES (10,240) bytes, the station
answers ``DONE`` once it has them all (upload time, operator's clock); the operator sends
``GET``, the station sends as many bytes back (download time, until the last byte). Both
directions are checked byte for byte. The ratio is reference seconds / our seconds (throughput
ratio: >= 1 means we are at least as fast). Sessions alternate ours / reference,
BENCH_AX25_LINK_RUNS (3) times per channel, both sides of a run under the same schedule; the
report gives each run,
then the ratio of the medians and of the sums. BENCH_AX25_LINK_PACE overrides our pacing,
BENCH_AX25_LINK_PACING_WINDOW our pacing window (60),
BENCH_AX25_LINK_CLEAN_ONLY=1 skips the lossy channel.

Run with ``BENCH=ax25_link make bench`` or ``.venv/bin/python bench/bench_ax25_link.py``
(about 40 minutes with 3 runs: 1200 baud is slow, each session takes 2 to 4 minutes).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DEBUG", "1")
# Our link parameters, read by the adapter from the settings: the same as Direwolf's below.
os.environ.update(AX25_PACLEN="128", AX25_WINDOW="4", AX25_T1="3", AX25_N2="10")

SIZE = int(os.environ.get("BENCH_AX25_LINK_BYTES", "10240"))
RUNS = int(os.environ.get("BENCH_AX25_LINK_RUNS", "3"))
BAUD = 1200
PACLEN = 128
DIREWOLF_CONFIG = f"PACLEN {PACLEN}\nMAXFRAME 4\nFRACK 3\nRETRY 10\nV20 BOT-1"
#: Our transmit pacing (AX25_BYTES_PER_SECOND): the channel's own limit, 1200 baud / 8.
PACE = os.environ.get("BENCH_AX25_LINK_PACE", str(BAUD // 8))
#: Our AX25_PACING_WINDOW (the recorded runs used 60; the default is 10).
PACING_WINDOW = os.environ.get("BENCH_AX25_LINK_PACING_WINDOW", "60")
SEED = 5


def clean(run: int) -> list[str]:
    return []


def lossy(run: int) -> list[str]:
    """Drop every 10th transmission each way, from an offset (1..10) that differs per run."""
    offsets = random.Random(SEED).sample(range(1, 11), 10)
    return ["--drop-at", f"{offsets[run % 10]}+10"]


CHANNELS = [("clean", clean), ("10% lost", lossy)]
if os.environ.get("BENCH_AX25_LINK_CLEAN_ONLY"):
    CHANNELS = CHANNELS[:1]
DEADLINE = 1800.0  # seconds for one session, lost transmissions included


def payload(tag: str) -> bytes:
    out = bytearray()
    n = 0
    while len(out) < SIZE:
        out += f"{tag}{n:05d} the quick brown fox jumps over the lazy dog\r".encode()
        n += 1
    return bytes(out[:SIZE])


UPLOAD = payload("U")
DOWNLOAD = payload("D")


async def operator_session(agw: Any, mine: str) -> tuple[float, float]:
    """Connect to BOT-1, upload, download; returns (upload s, download s)."""
    session = agw.connect(mine, "BOT-1")
    await asyncio.wait_for(session.connected.wait(), 120)
    started = time.monotonic()
    agw.send(mine, "BOT-1", UPLOAD, piece=PACLEN)
    await agw.wait_for_data(session, b"DONE\r", DEADLINE)
    upload = time.monotonic() - started
    mark = len(session.data)
    started = time.monotonic()
    agw.send(mine, "BOT-1", b"GET\r")
    data = await agw.wait_for_data(session, lambda d: len(d) - mark >= SIZE, DEADLINE)
    download = time.monotonic() - started
    assert data[mark:] == DOWNLOAD, "the download arrived damaged"
    agw.disconnect(mine, "BOT-1")
    await asyncio.wait_for(session.disconnected.wait(), 120)
    return upload, download


def bench_bot_class() -> Any:
    from gateway.generic.ax25link import AsyncAx25LinkConsumer

    class BenchBot(AsyncAx25LinkConsumer):
        """Takes the upload, says DONE, sends the download on GET."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.got = bytearray()

        async def receive(self, text: str, bytes_data: bytes) -> None:
            self.got += bytes_data
            if len(self.got) == SIZE:
                assert bytes(self.got) == UPLOAD, "the upload arrived damaged"
                await self.send(bytes_data=b"DONE\r")
            elif self.got.endswith(b"GET\r"):
                await self.send(bytes_data=DOWNLOAD)

    return BenchBot


async def ours(pair: Any, mine: str) -> tuple[float, float]:
    from adapters.ax25.adapter import Ax25Adapter
    from gateway.routing import CallsignRouter, ProtocolTypeRouter
    from tests.integration.ax25.agw_operator import AgwOperator

    settings = SimpleNamespace(
        AX25_TNC=f"tcp://127.0.0.1:{pair.a.kiss_port}", AX25_CALLSIGN="BOT-1",
        AX25_BYTES_PER_SECOND=PACE, AX25_PACING_WINDOW=PACING_WINDOW,
        AX25_STATE_DIR=tempfile.mkdtemp(prefix="ax25-"),
    )  # fmt: skip
    adapter = Ax25Adapter.from_settings(settings, {})
    app = ProtocolTypeRouter({"ax25": CallsignRouter({"BOT-1": bench_bot_class().as_asgi()})})
    stop = asyncio.Event()
    serving = asyncio.create_task(adapter.serve(app, stop))
    agw = await AgwOperator.open(pair.b.agw_port)
    try:
        await agw.register(mine)
        await asyncio.sleep(1.2)  # Direwolf reads a new KISS/AGW client after up to 1 s
        return await operator_session(agw, mine)
    finally:
        await agw.aclose()
        stop.set()
        await serving


async def reference(pair: Any, mine: str) -> tuple[float, float]:
    from tests.integration.ax25.agw_operator import AgwOperator

    station = await AgwOperator.open(pair.a.agw_port)
    agw = await AgwOperator.open(pair.b.agw_port)

    async def bot() -> None:
        session = station.sessions[("BOT-1", mine)]
        await asyncio.wait_for(session.connected.wait(), 120)
        await station.wait_for_data(session, lambda d: len(d) >= SIZE, DEADLINE)
        assert bytes(session.data[:SIZE]) == UPLOAD, "the upload arrived damaged"
        station.send("BOT-1", mine, b"DONE\r")
        await station.wait_for_data(session, lambda d: d.endswith(b"GET\r"), DEADLINE)
        station.send("BOT-1", mine, DOWNLOAD, piece=PACLEN)

    try:
        await station.register("BOT-1")
        await agw.register(mine)
        await asyncio.sleep(1.2)
        serving = asyncio.create_task(bot())
        result = await operator_session(agw, mine)
        await serving
        return result
    finally:
        await agw.aclose()
        await station.aclose()


async def session(side: Any, loss: list[str]) -> tuple[float, float, str]:
    """One session of ``side`` on a fresh Direwolf pair: (upload s, download s, air summary)."""
    from tests.integration.ax25.direwolf import DirewolfPair

    pair = DirewolfPair.start(
        Path(tempfile.mkdtemp(prefix="dw-link-")), baud=BAUD, extra_config=DIREWOLF_CONFIG,
        loss=loss,
    )  # fmt: skip
    try:
        upload, download = await side(pair, "N0CALL-2")
    finally:
        pair.stop()
    # Transmissions lost / made, by A (the station's TNC) and B (the operator's).
    air = ", ".join(
        f"{name} {log.count(' dropped')}/{log.count(' burst ')} lost"
        for name, log in (("A", pair.a.air_log()), ("B", pair.b.air_log()))
    )
    return upload, download, air


def bench_channel(make_loss: Callable[[int], list[str]]) -> dict[str, list[float]]:
    """RUNS rounds of ours then the reference, both under round i's loss schedule."""
    totals: dict[str, list[float]] = {"ours": [], "Direwolf": []}
    for run in range(RUNS):
        loss = make_loss(run)
        for name, side in (("ours", ours), ("Direwolf", reference)):
            upload, download, air = asyncio.run(session(side, loss))
            totals[name].append(upload + download)
            print(f"  run {run + 1} {' '.join(loss) or 'no loss':16} {name:8}  "
                  f"upload {upload:6.1f} s  download {download:6.1f} s  "
                  f"total {upload + download:6.1f} s  ({air})", flush=True)  # fmt: skip
        print(f"  run {run + 1}: throughput ratio ours/Direwolf "
              f"{totals['Direwolf'][-1] / totals['ours'][-1]:.2f}", flush=True)  # fmt: skip
    return totals


def main() -> None:
    import django

    django.setup()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {SIZE:,} bytes each way, "
          f"{BAUD} baud, PACLEN {PACLEN}, window 4, {RUNS} run(s) per side, "
          f"a fresh Direwolf pair per session")  # fmt: skip
    for name, make_loss in CHANNELS:
        print(f"channel: {name}", flush=True)
        totals = bench_channel(make_loss)
        ours_median = statistics.median(totals["ours"])
        ref_median = statistics.median(totals["Direwolf"])
        print(f"  median total: ours {ours_median:.1f} s, Direwolf<->Direwolf {ref_median:.1f} s; "
              f"throughput ratio ours/Direwolf {ref_median / ours_median:.2f} (median), "
              f"{sum(totals['Direwolf']) / sum(totals['ours']):.2f} (sum)")  # fmt: skip


if __name__ == "__main__":
    main()
