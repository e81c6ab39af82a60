"""Recovery after a Redis restart: how long until rooms work again, by number of memberships.

Run: ``.venv/bin/python bench/redis_restart.py`` (starts its own redis-server on a spare port in
a temp dir, SIGKILLs it and restarts it empty; never touches the shared Redis).

channels_redis does not restore groups at all (every room stays dead after an empty restart),
so there is no reference to compare with: the figures are absolute. For each size, one process
holds N memberships (N/10 groups of 10 channels); after the restart another process
group_sends to every group, and we time (a) the member process's restore once the restarted
server answers and its next check runs, and (b) the first group_send round after it, delivered
to every member.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from tests.integration.redis_layer.conftest import free_port

SIZES = [100, 1_000, 10_000]


def _start(port: int, directory: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    for _ in range(250):
        try:
            if client.ping():
                return process
        except redis.ConnectionError:
            time.sleep(0.02)
    raise RuntimeError(f"redis-server did not start on port {port}")


async def _measure(size: int, port: int, directory: str) -> tuple[float, float, int]:
    from gateway.clock import FakeClock
    from gateway.layers.redis import RedisChannelLayer

    url = f"redis://127.0.0.1:{port}/0"
    clock = FakeClock()
    member = RedisChannelLayer(hosts=[url], prefix=f"restart{size}", clock=clock, capacity=1000)
    sender = RedisChannelLayer(hosts=[url], prefix=f"restart{size}", capacity=1000)
    channels = [await member.new_channel() for _ in range(size)]
    groups = [f"g{n}" for n in range(size // 10)]
    for n, channel in enumerate(channels):
        await member.group_add(groups[n // 10], channel)
    os.kill(_server[0].pid, signal.SIGKILL)
    _server[0].wait()
    _server[0] = _start(port, directory)
    answered = time.perf_counter()
    clock.advance(member.keeper.check_interval)  # the check that notices the new run id
    while not member.keeper.restores:
        await asyncio.sleep(0.001)
    restored = time.perf_counter() - answered
    started = time.perf_counter()
    await asyncio.gather(*(sender.group_send(group, {"type": "m"}) for group in groups))
    got = 0
    for channel in channels:
        await member.receive(channel)
        got += 1
    delivered = time.perf_counter() - started
    await member.close()
    await sender.close()
    return restored, delivered, got


_server: list[subprocess.Popen[bytes]] = []


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as directory:
        _server.append(_start(port, directory))
        try:
            rows = [(size, *asyncio.run(_measure(size, port, directory))) for size in SIZES]
        finally:
            _server[0].kill()
            _server[0].wait()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("| memberships (groups) | restore after the server answers | first round delivered |")
    print("| ---: | ---: | ---: |")
    for size, restored, delivered, got in rows:
        print(
            f"| {size:,} ({size // 10:,}) | {restored * 1000:.1f} ms | "
            f"{delivered * 1000:.1f} ms ({got:,} of {size:,}) |"
        )


if __name__ == "__main__":
    main()
