#!/usr/bin/env python3
"""The "radio channel" between two Direwolf instances in the tests (stdlib only).

Direwolf 1.6 reads receive audio from UDP (``ADEVICE udp:PORT``) but transmits only to an ALSA
PCM. Each instance's transmit PCM is ALSA's ``file`` plugin piping raw S16_LE mono samples into
this script, which sends them to the other instance's UDP port:

* paced in real time (the ALSA ``null`` slave does not pace, and a burst would overflow the
  receiver's UDP buffer);
* in datagrams of at most 1024 bytes (Direwolf reads 2000-byte datagrams and truncates more);
* with silence after every transmission, else the receiver's demodulator keeps DCD on and the
  channel looks busy forever;
* optionally lossy: ``--drop-every N`` drops every Nth transmission, ``--drop P --seed S``
  drops each with probability P (the connected-mode tests need a bad channel), ``--drop-at
  4+10`` drops transmissions 4, 14, 24, ... (``--drop-at 2,7`` just those two; items combine).
  Each relay carries one direction and counts its own transmissions from 1, so a schedule
  loses the same transmissions in every session of a fresh pair: a benchmark comparing two
  link layers gives both the same losses (random drops fall differently on each).

It exits at EOF, when Direwolf closes the PCM.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import socket
import sys
import time
from collections.abc import Callable

CHUNK = 1024


def schedule(text: str) -> Callable[[int], bool]:
    """Parse ``--drop-at``: ``"4+10,7"`` drops transmissions 4, 14, 24, ... and 7."""
    rules: list[tuple[int, int]] = []  # (first, period; 0 = once)
    for item in text.split(","):
        first, plus, period = item.strip().partition("+")
        try:
            rule = (int(first), int(period) if plus else 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not N or N+P") from None
        if rule[0] < 1 or rule[1] < 0:
            raise argparse.ArgumentTypeError(f"{item!r}: N counts from 1, P is not negative")
        rules.append(rule)

    def dropped(n: int) -> bool:
        return any(
            n == first or (period and n > first and (n - first) % period == 0)
            for first, period in rules
        )

    return dropped


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=48000, help="samples/s (ALSA passes %%r)")
    parser.add_argument("--peer", type=int, action="append", required=True, help="UDP port")
    parser.add_argument("--idle-ms", type=float, default=40.0, help="a gap that ends a burst")
    parser.add_argument("--tail-ms", type=float, default=150.0, help="silence after a burst")
    parser.add_argument("--drop-every", type=int, default=0, help="drop every Nth burst")
    parser.add_argument("--drop", type=float, default=0.0, help="drop probability per burst")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--drop-at", type=schedule, default=lambda n: False,
        help="transmissions to drop, 1-based: N, or N+P for N, N+P, N+2P ...; comma-separated",
    )  # fmt: skip
    parser.add_argument("--log", default=None, help="append one line per burst")
    parser.add_argument("--pidfile", default=None)
    args = parser.parse_args()
    if args.pidfile:
        with open(args.pidfile, "w") as file:
            file.write(f"{os.getpid()}\n")
    rng = random.Random(args.seed)
    bytes_per_second = args.rate * 2
    peers = [("127.0.0.1", port) for port in args.peer]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    log = open(args.log, "a", buffering=1) if args.log else None  # noqa: SIM115
    stdin = sys.stdin.fileno()
    pending = bytearray()
    odd = b""
    burst_start: float | None = None
    burst_sent = 0
    burst_count = 0
    dropping = False
    last_input = 0.0
    eof = False

    def send(data: bytes) -> None:
        if dropping:
            return
        for peer in peers:
            try:
                sock.sendto(data, peer)
            except OSError:
                pass  # the receiver is not up: the audio is lost, as on a radio

    while not eof or pending:
        now = time.monotonic()
        if pending:
            assert burst_start is not None
            timeout: float | None = max(0.0, burst_start + burst_sent / bytes_per_second - now)
        elif burst_start is not None:
            timeout = max(0.0, last_input + args.idle_ms / 1000 - now)
        else:
            timeout = None
        if not eof:
            readable, _, _ = select.select([stdin], [], [], timeout)
            if readable:
                data = os.read(stdin, 65536)
                if not data:
                    eof = True
                else:
                    data = odd + data
                    odd = data[-1:] if len(data) % 2 else b""
                    data = data[: len(data) - len(odd)]
                    if burst_start is None:
                        burst_start, burst_sent = time.monotonic(), 0
                        burst_count += 1
                        dropping = bool(
                            (args.drop_every and burst_count % args.drop_every == 0)
                            or (args.drop and rng.random() < args.drop)
                            or args.drop_at(burst_count)
                        )
                    pending += data
                    last_input = time.monotonic()
        elif timeout:
            time.sleep(timeout)
        while pending:
            assert burst_start is not None
            if burst_start + burst_sent / bytes_per_second > time.monotonic():
                break
            piece = bytes(pending[:CHUNK])
            del pending[:CHUNK]
            send(piece)
            burst_sent += len(piece)
        if (
            not pending
            and burst_start is not None
            and time.monotonic() - last_input >= args.idle_ms / 1000
        ):
            silence = int(bytes_per_second * args.tail_ms / 1000) & ~1
            while silence > 0:
                send(bytes(min(silence, CHUNK)))
                silence -= CHUNK
            if log:
                state = "dropped" if dropping else "sent"
                log.write(f"{time.time():.3f} burst {burst_count} {state}, {burst_sent} bytes\n")
            burst_start = None
            dropping = False
    return 0


if __name__ == "__main__":
    sys.exit(main())
