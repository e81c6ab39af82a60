"""Redis channel layer: ours vs channels_redis vs bare redis-py, same Redis, same message.

Run: ``BENCH=redis_layer make bench`` (or ``.venv/bin/python bench/bench_redis_layer.py``).

The same workload runs three times against one private redis-server (started on a spare
port; REDIS_URL is used when redis-server is not installed):

- ours: ``gateway.layers.redis.RedisChannelLayer`` in this interpreter;
- channels_redis 4.3.0 (Channels 4.3.2) in its reference venv (bench/refenv.py), as a
  subprocess running this same file with ``--worker channels_redis``;
- bare redis-py: LPUSH + BRPOP of the msgpack-encoded message (round trips only).

Figures: send+receive round trips/s on one process-local channel and on a normal channel,
1,000-channel send-then-receive (messages/s), group_send fan-out to 10/100/1,000 members
(deliveries/s: group_send, then every member receives), and CPU per round trip (client
process, and redis-server from INFO). Each figure is printed with the ratio ours/reference.
This file imports nothing from the project at module level, so the reference venv can run it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

MESSAGE: dict[str, Any] = {"type": "chat.message", "text": "hello from the benchmark " * 4}
ROUND_TRIPS = 3000
CHANNELS = 1000
FAN_OUT = {10: 1500, 100: 150, 1000: 15}  # members -> group_sends (about 15,000 deliveries)
# channels_redis counts capacity per process (all its channels share one key), so it needs
# room for 1,000 channels at once; both layers get the same setting (capacity stays on).
CAPACITY = 1500
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def _redis_cpu(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def _workload(layer: Any, url: str) -> dict[str, float]:
    """Run every measurement on a Channels-API layer; return figures by name."""
    import redis as sync_redis

    admin = sync_redis.Redis.from_url(url)
    results: dict[str, float] = {}

    local = await layer.new_channel()
    for _ in range(200):  # warm up connections, scripts and readers
        await layer.send(local, MESSAGE)
        await layer.receive(local)

    cpu, redis_cpu, start = time.process_time(), _redis_cpu(admin), time.perf_counter()
    for _ in range(ROUND_TRIPS):
        await layer.send(local, MESSAGE)
        await layer.receive(local)
    elapsed = time.perf_counter() - start
    results["round trips/s (process-local channel)"] = ROUND_TRIPS / elapsed
    results["client CPU us per round trip"] = (time.process_time() - cpu) / ROUND_TRIPS * 1e6
    results["redis CPU us per round trip"] = (_redis_cpu(admin) - redis_cpu) / ROUND_TRIPS * 1e6

    normal = f"bench.normal{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    for _ in range(ROUND_TRIPS):
        await layer.send(normal, MESSAGE)
        await layer.receive(normal)
    results["round trips/s (normal channel)"] = ROUND_TRIPS / (time.perf_counter() - start)

    names = [await layer.new_channel() for _ in range(CHANNELS)]
    start = time.perf_counter()
    for name in names:
        await layer.send(name, MESSAGE)
    for name in names:
        await layer.receive(name)
    results[f"{CHANNELS}-channel send-then-receive msgs/s"] = CHANNELS / (
        time.perf_counter() - start
    )

    for members, rounds in FAN_OUT.items():
        group = f"bench{members}x{uuid.uuid4().hex[:6]}"
        channels = names[:members]
        for name in channels:
            await layer.group_add(group, name)
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            await layer.group_send(group, MESSAGE)
            for name in channels:
                await layer.receive(name)
        elapsed = time.perf_counter() - start
        results[f"group_send to {members}: deliveries/s"] = members * rounds / elapsed
        if members == 1000:
            results["client CPU us per delivery (1000 members)"] = (
                (time.process_time() - cpu) / (members * rounds) * 1e6
            )
    await layer.flush()
    return results


async def _bare(url: str) -> dict[str, float]:
    import msgpack
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    key = f"bench-bare-{uuid.uuid4().hex[:8]}"
    for _ in range(200):
        await client.lpush(key, msgpack.packb(MESSAGE))
        await client.brpop([key])
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(ROUND_TRIPS):
        await client.lpush(key, msgpack.packb(MESSAGE))
        msgpack.unpackb((await client.brpop([key]))[1])
    elapsed = time.perf_counter() - start
    await client.aclose()
    return {
        "round trips/s (process-local channel)": ROUND_TRIPS / elapsed,
        "round trips/s (normal channel)": ROUND_TRIPS / elapsed,
        "client CPU us per round trip": (time.process_time() - cpu) / ROUND_TRIPS * 1e6,
    }


def _worker(kind: str, url: str) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    if kind == "channels_redis":
        from channels_redis.core import RedisChannelLayer as Reference

        return asyncio.run(_workload(Reference(hosts=[url], prefix=prefix, capacity=CAPACITY), url))
    if kind == "bare":
        return asyncio.run(_bare(url))
    from gateway.layers.redis import RedisChannelLayer

    async def ours() -> dict[str, float]:
        layer = RedisChannelLayer(hosts=[url], prefix=prefix, capacity=CAPACITY)
        try:
            return await _workload(layer, url)
        finally:
            await layer.close()

    return asyncio.run(ours())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis() -> tuple[str, subprocess.Popen[bytes] | None]:
    if shutil.which("redis-server") is None:
        return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), None
    import redis as sync_redis

    port = _free_port()
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            sync_redis.Redis(port=port).ping()
            break
        except sync_redis.ConnectionError:
            time.sleep(0.02)
    return f"redis://127.0.0.1:{port}/0", process


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    """Highest rate, lowest CPU cost, per figure."""
    pick = {name: (min if "CPU" in name else max) for name in runs[0]}
    return {name: pick[name](run[name] for run in runs) for name in runs[0]}


def _run_in(python: str | Path, kind: str, url: str, script: str = __file__) -> dict[str, float]:
    """Run ``script --worker kind url`` with ``python``; return the figures it printed."""
    done = subprocess.run(
        [str(python), script, "--worker", kind, url],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    if done.returncode:
        raise RuntimeError(f"the {kind} run failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.refenv import reference_python

    reference = reference_python("channels-redis", ["channels==4.3.2", "channels-redis==4.3.0"])
    url, server = _start_redis()
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "channels_redis": [], "bare": []}
    try:
        # Interleaved repeats, best of each: other work on the machine only ever slows a run.
        for _ in range(REPEATS):
            runs["ours"].append(_run_in(sys.executable, "ours", url))
            runs["channels_redis"].append(_run_in(reference, "channels_redis", url))
            runs["bare"].append(_run_in(sys.executable, "bare", url))
    finally:
        if server is not None:
            server.kill()
            server.wait()
    ours, theirs, bare = (_best(runs[kind]) for kind in ("ours", "channels_redis", "bare"))
    print(
        f"redis: {url}; best of {REPEATS} interleaved runs; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print("| figure | ours | channels_redis | ours/ref | bare redis-py | ours/bare |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, value in ours.items():
        ref = theirs.get(name)
        raw = bare.get(name)
        print(
            f"| {name} | {value:,.0f} | {ref:,.0f} | {value / ref:.2f}x | "
            + (f"{raw:,.0f} | {value / raw:.2f}x |" if raw else "- | - |")
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(sys.argv[2], sys.argv[3])))
    else:
        main()
