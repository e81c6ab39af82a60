"""Web adapter benchmark: ours (runadapter web) and Daphne + Django Channels, in the same run.

Three measurements, each against both servers serving the same two consumers
(bench/web_reference/consumers.py):

1. WebSocket echo, 50 concurrent clients: round trips/s, p99 latency, server CPU µs/message.
2. Room broadcast to 50 clients through the in-memory layer: deliveries/s, server CPU µs per
   delivery.
3. Idle connections: N (default 10,000) WebSockets held open; server RSS per connection and
   the connect rate over the last 500 connections.

Server CPU is utime+stime of the server process from /proc/<pid>/stat, over the measured
window only; the load generator runs in this process and is not counted. Run with
`BENCH=web make bench`, or directly. Environment: BENCH_WEB_SECONDS (default 5),
BENCH_WEB_IDLE (default 10000), BENCH_WEB_SIDES (default "ours,reference,bare").
bench/web_reference/overhead.py measures our consumer stack alone, in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.refenv import reference_python  # noqa: E402

logger = logging.getLogger("bench_web")

REFERENCE_REQUIREMENTS = ["channels==4.3.2", "daphne==4.2.3", "Django==5.2.19"]
CLIENTS = 50
SECONDS = float(os.environ.get("BENCH_WEB_SECONDS", "5"))
IDLE = int(os.environ.get("BENCH_WEB_IDLE", "10000"))
SIDES = os.environ.get("BENCH_WEB_SIDES", "ours,reference,bare").split(",")
PAYLOAD = json.dumps({"type": "send", "text": "x" * 64})
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{path}"


def wait_listening(process: subprocess.Popen[bytes], port: int, name: str) -> None:
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on {port} within 60 s")


@contextlib.contextmanager
def run_server(side: str) -> Iterator[Server]:
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    if side == "ours":
        name = "gateway web adapter (uvicorn)"
        env |= {
            "DEBUG": "0",
            "SECRET_KEY": "bench-only",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "ASGI_APPLICATION": "bench.web_reference.asgi.application",
        }
        command = [sys.executable, "manage.py", "runadapter", "web"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
    elif side == "bare":
        name = "bare websockets echo (floor)"
        command = [sys.executable, "bench/web_reference/bare_echo.py", str(port)]
    else:
        name = "Daphne + Channels"
        python = reference_python("daphne-channels", REFERENCE_REQUIREMENTS)
        env |= {"BENCH_SIDE": "reference", "DJANGO_SETTINGS_MODULE": "bench.web_reference.settings"}
        command = [str(python), "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port)]
        command += ["bench.web_reference.asgi:application"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_listening(process, port, name)
        yield Server(name, process, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def open_clients(url: str, count: int) -> list[ClientConnection]:
    return [
        await connect(url, compression=None, max_size=None, ping_interval=None)
        for _ in range(count)
    ]


async def close_all(clients: list[ClientConnection]) -> None:
    for ws in clients:
        ws.transport.abort()
    await asyncio.sleep(0.5)


async def measure_echo(server: Server) -> dict[str, float]:
    clients = await open_clients(server.url("echo/"), CLIENTS)
    latencies: list[float] = []
    measuring = False
    stop = asyncio.Event()

    async def worker(ws: ClientConnection) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await ws.send(PAYLOAD)
            await ws.recv()
            if measuring:
                latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(worker(ws)) for ws in clients]
    await asyncio.sleep(1.0)  # warm-up
    measuring, cpu0, t0 = True, cpu_seconds(server.process.pid), time.perf_counter()
    await asyncio.sleep(SECONDS)
    measuring, cpu1, t1 = False, cpu_seconds(server.process.pid), time.perf_counter()
    stop.set()
    await asyncio.gather(*tasks)
    await close_all(clients)
    count = len(latencies)
    return {
        "round_trips_per_s": count / (t1 - t0),
        "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
        "cpu_us_per_message": (cpu1 - cpu0) / count * 1e6,
    }


async def measure_broadcast(server: Server, window: int = 8) -> dict[str, float]:
    clients = await open_clients(server.url("broadcast/"), CLIENTS)
    sender = clients[0]
    in_flight = asyncio.Semaphore(window)
    deliveries = 0
    stop = asyncio.Event()

    async def reader(ws: ClientConnection) -> None:
        nonlocal deliveries
        with contextlib.suppress(Exception):
            while True:
                await ws.recv()
                deliveries += 1
                if ws is sender:
                    in_flight.release()

    async def send_loop() -> None:
        while not stop.is_set():
            await in_flight.acquire()
            await sender.send(PAYLOAD)

    readers = [asyncio.create_task(reader(ws)) for ws in clients]
    sending = asyncio.create_task(send_loop())
    await asyncio.sleep(1.0)
    d0, cpu0, t0 = deliveries, cpu_seconds(server.process.pid), time.perf_counter()
    await asyncio.sleep(SECONDS)
    d1, cpu1, t1 = deliveries, cpu_seconds(server.process.pid), time.perf_counter()
    stop.set()
    in_flight.release()
    await sending
    await close_all(clients)
    for task in readers:
        task.cancel()
    return {
        "deliveries_per_s": (d1 - d0) / (t1 - t0),
        "cpu_us_per_delivery": (cpu1 - cpu0) / (d1 - d0) * 1e6,
    }


async def measure_idle(server: Server, count: int, concurrency: int = 20) -> dict[str, float]:
    url = server.url("echo/")
    warm = await open_clients(url, 10)
    await asyncio.sleep(0.5)
    rss0 = rss_bytes(server.process.pid)
    clients: list[ClientConnection] = []
    finished: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    failures = 0
    tail = min(500, count - 1)
    marks: list[float] = []  # server CPU when the last `tail` connections begin

    async def one() -> None:
        nonlocal failures
        async with gate:
            # A server that falls behind drops handshakes (Daphne's connect timeout is 5 s):
            # count them and try again, so the run still reaches `count` open connections.
            for _ in range(3):
                try:
                    clients.append(await connect(url, compression=None, ping_interval=None))
                except (OSError, TimeoutError, InvalidHandshake) as exc:
                    failures += 1
                    logger.debug("handshake failed: %r", exc)
                    continue
                finished.append(time.perf_counter())
                if len(finished) == count - tail:
                    marks.append(cpu_seconds(server.process.pid))
                return

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    total = time.perf_counter() - started
    cpu_end = cpu_seconds(server.process.pid)
    await asyncio.sleep(1.0)
    rss1 = rss_bytes(server.process.pid)
    opened = len(clients)
    finished.sort()
    rate_at_end = tail / (finished[-1] - finished[-1 - tail])
    await close_all(clients + warm)
    return {
        "connections": opened,
        "failed_handshakes": failures,
        "rss_kb_per_connection": (rss1 - rss0) / opened / 1024,
        "connects_per_s_at_end": rate_at_end,
        "connects_per_s_overall": opened / total,
        "server_cpu_us_per_connect_at_end": (cpu_end - marks[0]) / tail * 1e6 if marks else 0.0,
    }


async def bench_side(side: str) -> dict[str, dict[str, float]]:
    # The bare server has no groups and answers on any path: echo and idle only.
    with run_server(side) as server:
        logger.info("== %s on port %d", server.name, server.port)
        results = {"echo": await measure_echo(server)}
        logger.info("echo: %s", results["echo"])
        if side != "bare":
            results["broadcast"] = await measure_broadcast(server)
            logger.info("broadcast: %s", results["broadcast"])
    if IDLE:
        # A fresh server, so the idle RSS is not inflated by the message runs.
        with run_server(side) as server:
            results["idle"] = await measure_idle(server, IDLE)
            logger.info("idle: %s", results["idle"])
    return results


def fmt(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def report(results: dict[str, dict[str, dict[str, float]]]) -> str:
    rows = [
        ("echo", "round_trips_per_s", "round trips/s", "ours/ref"),
        ("echo", "p99_ms", "echo p99 (ms)", "ref/ours"),
        ("echo", "cpu_us_per_message", "server CPU µs/echo message", "ref/ours"),
        ("broadcast", "deliveries_per_s", "broadcast deliveries/s", "ours/ref"),
        ("broadcast", "cpu_us_per_delivery", "server CPU µs/delivery", "ref/ours"),
        ("idle", "rss_kb_per_connection", f"RSS KB/connection ({IDLE} open)", "ref/ours"),
        ("idle", "connects_per_s_at_end", "connects/s at the end", "ours/ref"),
        ("idle", "server_cpu_us_per_connect_at_end", "server CPU µs/connect, end", "ref/ours"),
    ]
    ours, ref, bare = (results.get(side, {}) for side in ("ours", "reference", "bare"))
    lines = [
        "| measurement | ours | Daphne+Channels | ours vs Daphne+Channels | bare websockets |",
        "|---|---:|---:|---:|---:|",
    ]
    for group, key, label, direction in rows:
        a = ours.get(group, {}).get(key)
        b = ref.get(group, {}).get(key)
        ratio = ""
        if a and b:
            factor = a / b if direction == "ours/ref" else b / a
            ratio = f"{factor:.1f}x better" if factor >= 1 else f"{factor:.2f}x (worse)"
        c = bare.get(group, {}).get(key)
        lines.append(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio} | {fmt(c)} |")
    return "\n".join(lines)


async def main() -> None:
    # The load generator holds as many connections as the server: keep its own garbage
    # collector from becoming the bottleneck (the same tuning as adapters/web/adapter.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on the way out
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Each idle connection is one descriptor here and one in the server (which inherits this).
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < IDLE + 1000:
        raise SystemExit(f"ulimit -Hn is {hard}: raise it above {IDLE + 1000} for BENCH_WEB_IDLE")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for side in SIDES:
        results[side] = await bench_side(side)
        # Written after each side, so a long run that fails later keeps what it measured.
        (out / "web.json").write_text(json.dumps(results, indent=2))
    sys.stdout.write(report(results) + "\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
