"""Fuzz the web adapter's HTTP/WebSocket handshake path with 100,000+ hypothesis inputs.

The harness and the strategies are the suite's (tests/unit/adapters/web/handshake_fuzz.py):
each input is a near-valid or random request, cut into random chunks, fed to a fresh
connection of the web adapter's HTTP protocol in process (upgrading to its WebSocket protocol,
then random frames); the run fails at the first input that raises, logs an ERROR or a
traceback, or leaves a connection neither answered nor closed once the header timeout passed.
At the end it prints how the connections were answered (docs/web.md records a run).

Usage: .venv/bin/python scripts/fuzz_web_handshake.py [EXAMPLES]   (default 100000)
"""

from __future__ import annotations

import collections
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.unit.adapters.web import handshake_fuzz, transport  # noqa: E402

logger = logging.getLogger("fuzz_web_handshake")


def main() -> None:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    # One line per refused request at INFO would be millions of lines; errors still count.
    logging.getLogger().setLevel(logging.WARNING)
    outcomes: collections.Counter[str] = collections.Counter()
    connect = transport.Server.connect

    def counted_connect(server: transport.Server) -> tuple[object, transport.FakeTransport]:
        protocol, fake = connect(server)
        connections.append(fake)
        return protocol, fake

    connections: list[transport.FakeTransport] = []
    transport.Server.connect = counted_connect  # type: ignore[assignment,method-assign]
    harness = handshake_fuzz.Harness()

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        variant=st.sampled_from(sorted(handshake_fuzz.LIMITS)),
        request=handshake_fuzz.requests(),
        cuts=st.lists(st.integers(min_value=0), max_size=6),
        after=handshake_fuzz.frames(),
    )
    def fuzz(variant: str, request: bytes, cuts: list[int], after: bytes) -> None:
        harness.exercise(variant, request, cuts, after)
        for fake in connections:
            outcomes[str(fake.status or "closed without an answer")] += 1
        connections.clear()

    started = time.monotonic()
    try:
        fuzz()
    finally:
        harness.close()
    elapsed = time.monotonic() - started
    total = sum(outcomes.values())
    print(f"{total} connections, no exception, no ERROR, no traceback, none left hanging")
    print(f"{elapsed:.0f} s ({elapsed / max(total, 1) * 1e3:.2f} ms per input)")
    for status, count in sorted(outcomes.items()):
        print(f"  {status}: {count}")


if __name__ == "__main__":
    main()
