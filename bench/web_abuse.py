"""Hostile clients against a real `runadapter web` process: what is answered, closed, logged, held.

Not a speed benchmark: it reports how the web adapter treats clients that never finish their
request headers, send oversized or too many headers, or hold slowloris connections, and the
server's resident memory (RSS, from /proc) while they do. The same script measured the code
before and after the hardening of issue 12 (docs/web.md, "Hostile clients").

Cases (each on fresh connections, the server started once with DEBUG off):

- ``huge``: CONNECTIONS clients each stream HUGE_MB of one header line and never end it;
  RSS is read while they hold the connections;
- ``ws-long-line``: WebSocket upgrades with one 12 KB header line (over websockets' 8 KB);
- ``ws-many``: WebSocket upgrades with 130 headers (over websockets' 128);
- ``http-long-line`` / ``http-many``: plain GETs with a 20 KB header line / 150 headers;
- ``slowloris``: clients sending one header byte per second; counted as closed when the server
  ends them within SLOW_HOLD seconds (run with WEB_HEADER_TIMEOUT set low to see it act).

Usage: .venv/bin/python bench/web_abuse.py   (env: ABUSE_CONNECTIONS, ABUSE_HUGE_MB,
ABUSE_SLOW_HOLD, plus any server setting such as WEB_HEADER_TIMEOUT=2)
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.web.server import WebServer  # noqa: E402

CONNECTIONS = int(os.environ.get("ABUSE_CONNECTIONS", "20"))
HUGE_MB = int(os.environ.get("ABUSE_HUGE_MB", "20"))
SLOW_HOLD = float(os.environ.get("ABUSE_SLOW_HOLD", "6"))
ANSWER_WAIT = 5.0
SERVER_ENV = {"DEBUG": "0", "SECRET_KEY": "abuse-only", "ALLOWED_HOSTS": "127.0.0.1"}
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
FORWARDED = ("WEB_", "WEBSOCKET_", "UVICORN_")


def rss_mb(pid: int) -> float:
    """Resident set size of `pid` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def upgrade_head(port: int, extra: bytes = b"") -> bytes:
    """The start of a WebSocket upgrade request to the chat path, `extra` header lines added."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws/chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n"
    ).encode() + extra


async def answer(port: int, request: bytes) -> str:
    """Send `request`; return the status line, "closed" (EOF, no answer) or "no answer"."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), ANSWER_WAIT)
        return line.decode(errors="replace").strip() or "closed"
    except TimeoutError:
        return "no answer"
    except ConnectionError:
        return "reset"
    finally:
        writer.close()


async def huge_header(
    port: int, megabytes: int, streamed: asyncio.Semaphore, done: asyncio.Event
) -> str:
    """Stream one endless header line; hold the connection until `done`; say how it ended."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk = b"a" * 65536
    outcome = "held"
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
        try:
            for _ in range(megabytes * 16):
                writer.write(chunk)
                await writer.drain()
                if reader.at_eof():
                    break
        finally:
            streamed.release()
        await done.wait()
        if reader.at_eof() or reader._buffer:  # peek without waiting
            line = await reader.readline()
            outcome = line.decode(errors="replace").strip() or "closed"
    except ConnectionError:
        outcome = "reset"
    finally:
        writer.close()
    return outcome


async def slowloris(port: int, hold: float) -> str:
    """Send the request one header byte per second; "closed" if the server ends it in `hold` s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 1000
    try:
        for byte in request:
            if time.monotonic() - started > hold:
                return "held"
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                line = await asyncio.wait_for(reader.readline(), 1.0)
            except TimeoutError:
                continue
            return line.decode(errors="replace").strip() or "closed"
        return "held"
    except ConnectionError:
        return "closed"
    finally:
        writer.close()


def tally(outcomes: list[str]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return ", ".join(f"{n} x {what!r}" for what, n in sorted(counts.items()))


async def run(server: WebServer) -> None:
    port, pid = server.port, server.process.pid
    print(f"server pid {pid} port {port}; RSS at rest {rss_mb(pid):.0f} MB")

    done = asyncio.Event()
    streamed = asyncio.Semaphore(0)
    holders = [
        asyncio.create_task(huge_header(port, HUGE_MB, streamed, done)) for _ in range(CONNECTIONS)
    ]
    peak = rss_mb(pid)
    for _ in range(CONNECTIONS):  # until every client has streamed its header or been cut off
        while True:
            try:
                await asyncio.wait_for(streamed.acquire(), 0.5)
                break
            except TimeoutError:
                peak = max(peak, rss_mb(pid))
    await asyncio.sleep(1.0)  # let the server take what is in flight, then hold
    peak = max(peak, rss_mb(pid))
    done.set()
    outcomes = await asyncio.gather(*holders)
    print(
        f"huge: {CONNECTIONS} clients x {HUGE_MB} MB unfinished header line: "
        f"RSS peak {peak:.0f} MB; {tally(outcomes)}"
    )

    cases = {
        "ws-long-line": upgrade_head(port, b"X-Long: " + b"l" * 12_000 + b"\r\n") + b"\r\n",
        "ws-many": upgrade_head(port, b"".join(b"X-%d: m\r\n" % i for i in range(130))) + b"\r\n",
        "http-long-line": b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: "
        + b"l" * 20_000
        + b"\r\n\r\n",
        "http-many": HEALTHZ + b"".join(b"X-%d: m\r\n" % i for i in range(150)) + b"\r\n",
    }
    for name, request in cases.items():
        outcomes = await asyncio.gather(*(answer(port, request) for _ in range(CONNECTIONS)))
        print(f"{name}: {tally(outcomes)}")

    outcomes = await asyncio.gather(*(slowloris(port, SLOW_HOLD) for _ in range(CONNECTIONS)))
    print(f"slowloris ({SLOW_HOLD:.0f} s): {tally(outcomes)}; RSS after {rss_mb(pid):.0f} MB")


def main() -> None:
    env = SERVER_ENV | {k: v for k, v in os.environ.items() if k.startswith(FORWARDED)}
    env["ASGI_APPLICATION"] = "project.asgi.application"
    server = WebServer(**env)
    try:
        asyncio.run(run(server))
    finally:
        log = server.output
        server.stop()
    lines = log.splitlines()
    print(
        f"server log: {len(lines)} lines, {sum(' ERROR ' in line for line in lines)} ERROR, "
        f"{sum(' WARNING ' in line for line in lines)} WARNING, "
        f"{sum(line.startswith('Traceback') for line in lines)} tracebacks"
    )


if __name__ == "__main__":
    main()
