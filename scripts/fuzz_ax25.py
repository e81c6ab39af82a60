"""Fuzz the AX.25 decoders: any byte string gives a frame or a clear protocol error.

Feeds N inputs (default 1,000,000) to decode_frame, the KISS decoder and the APRS parser:
a third random bytes, a third valid frames with random bytes changed, a third valid frames cut
short or extended. Any exception other than FrameError / AprsError is a bug: it is printed
with the input and the script exits 1. Run:

    .venv/bin/python scripts/fuzz_ax25.py [N] [SEED]

The run recorded in docs/ax25.md ("Fuzzing") used the defaults.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from adapters.ax25 import aprs
from adapters.ax25.frame import (
    Callsign,
    Frame,
    FrameError,
    FrameType,
    Hop,
    decode_frame,
    encode_frame,
)
from adapters.ax25.kiss import KissDecoder, encode_data

SEEDS = [
    encode_frame(Frame(Callsign("APZGWY"), Callsign("N0CALL", 5), FrameType.UI, pid=0xF0,
                       path=(Hop(Callsign("WIDE1", 1), True), Hop(Callsign("WIDE2", 1))),
                       info=b":BOT-1    :hello{12}34")),
    encode_frame(Frame(Callsign("BOT", 1), Callsign("N0CALL", 1), FrameType.I, ns=3, nr=5,
                       pid=0xF0, info=b"hello bot\r")),
    encode_frame(Frame(Callsign("BOT", 1), Callsign("N0CALL", 1), FrameType.RR, nr=2,
                       command=False)),
    encode_frame(Frame(Callsign("BOT", 1), Callsign("N0CALL", 1), FrameType.SABME,
                       poll_final=True)),
    encode_frame(Frame(Callsign("BOT", 1), Callsign("N0CALL", 1), FrameType.FRMR,
                       command=False, info=b"\x01\x02\x03")),
]  # fmt: skip


def inputs(count: int, rng: random.Random):  # type: ignore[no-untyped-def]
    for n in range(count):
        kind = n % 3
        if kind == 0:
            yield bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 90)))
        elif kind == 1:
            data = bytearray(rng.choice(SEEDS))
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            yield bytes(data)
        else:
            data = rng.choice(SEEDS)
            cut = rng.randrange(0, len(data) + 1)
            yield data[:cut] + bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 8)))


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    kiss = KissDecoder()
    started = time.perf_counter()
    for data in inputs(count, rng):
        try:
            frame = decode_frame(data)
            outcomes[f"frame {frame.type.name}"] += 1
            if frame.type is FrameType.UI:
                try:
                    aprs.parse(frame.info)
                    outcomes["aprs parsed"] += 1
                except aprs.AprsError:
                    outcomes["aprs error"] += 1
            # A decoded frame must encode again (and decode to itself).
            if decode_frame(encode_frame(frame)) != frame:
                print(f"round trip changed the frame: {data.hex()}")
                return 1
        except FrameError:
            outcomes["FrameError"] += 1
        except Exception as exc:  # the point of the script: anything else is a bug
            print(f"decode_frame({data.hex()}) raised {exc!r}")
            return 1
        try:
            # The same bytes as a KISS stream (with and without framing) never raise.
            kiss.feed(data)
            kiss.feed(encode_data(data))
            kiss.errors()
        except Exception as exc:
            print(f"KissDecoder.feed({data.hex()}) raised {exc!r}")
            return 1
    elapsed = time.perf_counter() - started
    print(f"{count:,} inputs (seed {seed}) in {elapsed:.1f} s, {count / elapsed:,.0f}/s; "
          "no exception other than FrameError/AprsError")  # fmt: skip
    for outcome, number in sorted(outcomes.items(), key=lambda item: -item[1]):
        print(f"  {outcome:>16}: {number:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
