"""Stock Daphne serves our application: ``daphne project.asgi:application``, as a Channels
project is deployed, with no Channels installed.

Daphne is never a dependency of the project: it is installed, with our requirements.txt and
without channels, in the reference venv bench/.venv-daphne-gateway. From the project root, on a
free loopback port, with the in-memory layer and a throwaway SQLite database, this checks:

1. the venv has no ``channels`` package (so nothing below can lean on it);
2. GET / answers 200 with an HTML page (Django through our ProtocolTypeRouter);
3. a WebSocket chat round trip through our consumers and the channel layer;
4. a WebSocket with a foreign Origin is refused with 403 (AllowedHostsOriginValidator).

Prints PASS/FAIL per check and exits 1 if any failed. Run with ``BENCH=compat_daphne make
bench``, or ``.venv/bin/python bench/compat_daphne.py``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.refenv import reference_python  # noqa: E402
from tests.integration.compat.stock_server import (  # noqa: E402
    chat_round_trip,
    foreign_origin_status,
    http_page,
    stock_server,
)

DAPHNE = "daphne==4.2.3"


def check(results: list[bool], name: str, run: Callable[[], str | None]) -> None:
    """Run one check: ``run`` returns None when it passed, else what went wrong."""
    try:
        problem = run()
    except Exception as exc:  # a failed check is reported, not raised: the others still run
        problem = f"{type(exc).__name__}: {exc}"
    results.append(problem is None)
    print(f"{'PASS' if problem is None else 'FAIL'}  {name}" + (f": {problem}" if problem else ""))


def main() -> int:
    python = reference_python(
        "daphne-gateway", [DAPHNE], requirement_file=ROOT / "requirements.txt"
    )
    daphne = python.parent / "daphne"
    results: list[bool] = []

    def no_channels() -> str | None:
        version = subprocess.run(
            [str(python), "-c", "import daphne; print(daphne.__version__)"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if f"daphne=={version}" != DAPHNE:
            return f"expected {DAPHNE}, the venv has {version or 'no daphne'}"
        probe = subprocess.run([str(python), "-c", "import channels"], capture_output=True)
        return "channels is importable in the venv" if probe.returncode == 0 else None

    check(results, "reference venv has daphne and no channels", no_channels)
    with tempfile.TemporaryDirectory() as directory:
        command = [str(daphne), "-b", "127.0.0.1", "-p", "{port}", "project.asgi:application"]
        with stock_server("daphne", command, Path(directory)) as address:

            def page() -> str | None:
                status, body = http_page(address)
                if status == 200 and b"<html" in body.lower():
                    return None
                return f"got status {status}, body {body[:80]!r}"

            def chat() -> str | None:
                text = "hello from stock daphne"
                message = asyncio.run(chat_round_trip(address, "daphne", text))
                got = (message.get("type"), message.get("sender"), message.get("text"))
                return None if got == ("message", "daphne", text) else f"got {message!r}"

            def origin() -> str | None:
                status = asyncio.run(foreign_origin_status(address))
                return None if status == 403 else f"expected 403, got {status}"

            check(results, "GET / answers 200 with a page", page)
            check(results, "WebSocket chat round trip through the channel layer", chat)
            check(results, "foreign Origin refused with 403", origin)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
