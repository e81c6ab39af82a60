"""AX.25 benchmark: decoder throughput, and APRS round trips through Direwolf at 9600 baud.

1. Decoder: BENCH_AX25_FRAMES (100,000) KISS-framed APRS message frames (three paths, several
   stations) fed in 4 KiB chunks to ``KissDecoder`` -> ``decode_frame`` -> ``aprs.parse``:
   frames/s over the whole stack. Side by side, in the same run, aprslib 0.7.2 (reference venv
   bench/.venv-aprslib; GPL, never a dependency) parses the same packets in their TNC2 text form
   (``SRC>DST,PATH::ADDRESSEE:text{N``), which is less work: it starts from text and skips the
   KISS and AX.25 binary layers. The ratio is ours / aprslib.
2. Round trips: the ax25 adapter (RadioBot on BOT-1) on Direwolf A's KISS TCP port; an operator
   on Direwolf B sends BENCH_AX25_ROUND_TRIPS (20) numbered APRS messages one after another and
   times each from sending to hearing BOT-1's reply (the ack comes first); it acks each reply.
   Median and worst are reported, with the air time of the frames for comparison.

Run with ``BENCH=ax25 make bench`` or ``.venv/bin/python bench/bench_ax25.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from adapters.ax25 import aprs  # noqa: E402
from adapters.ax25.frame import Callsign, Frame, FrameType, Hop, decode_frame, encode_frame  # noqa: E402
from adapters.ax25.kiss import KissDecoder, encode_data  # noqa: E402
from bench.refenv import reference_python  # noqa: E402

FRAMES = int(os.environ.get("BENCH_AX25_FRAMES", "100000"))
ROUND_TRIPS = int(os.environ.get("BENCH_AX25_ROUND_TRIPS", "20"))
PATHS = [
    (),
    (Hop(Callsign("WIDE1", 1), True),),
    (Hop(Callsign("WIDE1", 1), True), Hop(Callsign("WIDE2", 1))),
]


def packets() -> list[Frame]:
    out = []
    for n in range(30):
        out.append(
            Frame(Callsign("APZXYZ"), Callsign("N0CALL", n % 16), FrameType.UI,
                  path=PATHS[n % 3], pid=0xF0,
                  info=f":BOT-1    :message number {n} from the bench{{{n + 1}".encode())
        )  # fmt: skip
    return out


def tnc2(frame: Frame) -> str:
    hops = "".join(f",{hop}" for hop in frame.path)
    return f"{frame.source}>{frame.destination}{hops}:{frame.info.decode()}"


def decoder_pass(chunks: list[bytes]) -> float:
    """One pass of ours over the stream: frames/s."""
    decoder = KissDecoder()
    count = 0
    started = time.perf_counter()
    for chunk in chunks:
        for kiss_frame in decoder.feed(chunk):
            frame = decode_frame(kiss_frame.payload)
            if aprs.parse(frame.info) is not None:
                count += 1
    elapsed = time.perf_counter() - started
    assert count == FRAMES, count
    return count / elapsed


REFERENCE = textwrap.dedent(
    """
    import sys, time, aprslib
    lines = sys.stdin.read().splitlines()
    total = int(sys.argv[1])
    started = time.perf_counter()
    for n in range(total):
        packet = aprslib.parse(lines[n % len(lines)])
        assert packet["format"] == "message"
    print(total / (time.perf_counter() - started))
    """
)


def reference_pass(python: Path, text: str) -> float:
    """One pass of aprslib over the same packets (timed inside its process): packets/s."""
    out = subprocess.run(
        [str(python), "-c", REFERENCE, str(FRAMES)],
        input=text, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip())


def bench_decoders(rounds: int = 3) -> tuple[float, float]:
    """Best of ``rounds`` passes each, ours and aprslib alternating (the machine is shared)."""
    sample = packets()
    stream = b"".join(encode_data(encode_frame(sample[n % len(sample)])) for n in range(FRAMES))
    chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
    python = reference_python("aprslib", ["aprslib==0.7.2"])
    text = "\n".join(tnc2(frame) for frame in sample)
    ours = reference = 0.0
    for _ in range(rounds):
        ours = max(ours, decoder_pass(chunks))
        reference = max(reference, reference_pass(python, text))
    return ours, reference


async def bench_round_trips() -> list[float]:
    import django

    django.setup()
    from adapters.ax25.adapter import Ax25Adapter
    from gateway.routing import CallsignRouter, ProtocolTypeRouter
    from tests.integration.ax25.direwolf import DirewolfPair
    from tests.integration.ax25.echo import RadioBot
    from tests.integration.ax25.radio_operator import NEW_CLIENT_DELAY, KissOperator

    pair = DirewolfPair.start(Path(tempfile.mkdtemp(prefix="dw-bench-")), baud=9600)
    operator = KissOperator(pair.b.kiss_port)
    settings = SimpleNamespace(
        AX25_TNC=f"tcp://127.0.0.1:{pair.a.kiss_port}", AX25_CALLSIGN="BOT-1", AX25_APRS_PATH="",
        AX25_BYTES_PER_SECOND="1200", AX25_STATE_DIR=tempfile.mkdtemp(prefix="ax25-bench-"),
    )  # fmt: skip
    adapter = Ax25Adapter.from_settings(settings, {})
    stop = asyncio.Event()
    app = ProtocolTypeRouter({"ax25": CallsignRouter({"BOT-1": RadioBot})})
    serving = asyncio.create_task(adapter.serve(app, stop))
    bot = Callsign("BOT", 1)

    def reply_to(op: str):  # type: ignore[no-untyped-def]
        def match(frame: Frame) -> bool:
            packet = aprs.parse(frame.info) if frame.source == bot else None
            return isinstance(packet, aprs.AprsMessage) and packet.addressee == op

        return match

    times: list[float] = []
    try:
        await asyncio.sleep(2 * NEW_CLIENT_DELAY)
        for n in range(ROUND_TRIPS):
            op = f"N0CALL-{n % 15 + 1}"
            started = time.perf_counter()
            operator.send_ui(op, "APZXYZ", f":BOT-1    :round trip {n}{{{n + 1}".encode())
            frame = await asyncio.to_thread(operator.expect, reply_to(op), 10)
            times.append(time.perf_counter() - started)
            reply = aprs.parse(frame.info)
            assert isinstance(reply, aprs.AprsMessage) and reply.msgno
            operator.send_ui(op, "APZXYZ", f":BOT-1    :ack{reply.msgno}".encode())
            await asyncio.sleep(0.3)  # let the ack go out before the next message
    finally:
        stop.set()
        await serving
        operator.close()
        pair.stop()
    return times


def main() -> None:
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {FRAMES:,} frames")
    ours, reference = bench_decoders()
    print(f"decoder, KISS+AX.25+APRS (ours):        {ours:12,.0f} frames/s")
    print(f"aprslib 0.7.2, TNC2 text (reference):   {reference:12,.0f} packets/s")
    print(f"ratio ours/aprslib:                     {ours / reference:12.2f}")
    from tests.integration.ax25.direwolf import installed

    if not installed():
        print("APRS round trips skipped: direwolf is not installed (run scripts/services.sh)")
        return
    times = asyncio.run(bench_round_trips())
    # A ~60-byte APRS frame at 9600 baud is ~60 ms on the air with TXDELAY 5 / TXTAIL 2.
    print(
        f"APRS round trips through Direwolf at 9600 baud ({len(times)}; message -> ack -> reply):"
    )
    print(f"  median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
