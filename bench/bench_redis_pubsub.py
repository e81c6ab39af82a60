"""Redis Pub/Sub layer: ours vs channels_redis' RedisPubSubChannelLayer, same Redis, same run.

Run: ``BENCH=redis_pubsub make bench`` (or ``.venv/bin/python bench/bench_redis_pubsub.py``).

One private redis-server (spare port; REDIS_URL when redis-server is not installed) serves:

- ours: ``gateway.layers.redis.pubsub.RedisPubSubChannelLayer`` in this interpreter;
- channels_redis 4.3.0's ``RedisPubSubChannelLayer`` in its reference venv (bench/refenv.py),
  as a subprocess running this same file with ``--worker channels_redis``.

Figures: send+receive round trips/s on a ``new_channel()`` channel, and group_send fan-out to
10, 100 and 1,000 members in one process (deliveries/s: group_send, then every member
receives), plus client CPU per round trip and per delivery. Interleaved repeats, best of each.
channels_redis subscribes without waiting for Redis' confirmation, so before measuring, each
workload checks its channel answers (a warm-up round trip) for both layers alike.
This file imports nothing from the project at module level, so the reference venv can run it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_redis_layer import _best, _run_in, _start_redis

MESSAGE: dict[str, Any] = {"type": "chat.message", "text": "hello from the benchmark " * 4}
ROUND_TRIPS = 3000
FAN_OUT = {10: 1500, 100: 150, 1000: 15}  # members -> group_sends (about 15,000 deliveries)
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


async def _until_subscribed(layer: Any, channel: str, group: str | None = None) -> None:
    # channels_redis returns before Redis confirmed a SUBSCRIBE: probe until a message arrives.
    while True:
        if group is None:
            await layer.send(channel, {"type": "probe"})
        else:
            await layer.group_send(group, {"type": "probe"})
        try:
            await asyncio.wait_for(layer.receive(channel), 0.5)
            return
        except TimeoutError:
            continue


async def _workload(layer: Any) -> dict[str, float]:
    results: dict[str, float] = {}
    channel = await layer.new_channel()
    await _until_subscribed(layer, channel)
    for _ in range(200):
        await layer.send(channel, MESSAGE)
        await layer.receive(channel)
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(ROUND_TRIPS):
        await layer.send(channel, MESSAGE)
        await layer.receive(channel)
    elapsed = time.perf_counter() - start
    results["round trips/s"] = ROUND_TRIPS / elapsed
    results["client CPU us per round trip"] = (time.process_time() - cpu) / ROUND_TRIPS * 1e6

    names = [await layer.new_channel() for _ in range(max(FAN_OUT))]
    for members, rounds in FAN_OUT.items():
        group = f"bench{members}x{uuid.uuid4().hex[:6]}"
        channels = names[:members]
        for name in channels:
            await layer.group_add(group, name)
        await _until_subscribed(layer, channels[0], group)
        for name in channels[1:]:
            await layer.receive(name)  # the probe that proved the subscription
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            await layer.group_send(group, MESSAGE)
            for name in channels:
                await layer.receive(name)
        elapsed = time.perf_counter() - start
        results[f"group_send to {members}: deliveries/s"] = members * rounds / elapsed
        results[f"client CPU us per delivery ({members} members)"] = (
            (time.process_time() - cpu) / (members * rounds) * 1e6
        )
        for name in channels:
            await layer.group_discard(group, name)
    await layer.flush()
    return results


def _worker(kind: str, url: str) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    if kind == "channels_redis":
        from channels_redis.pubsub import RedisPubSubChannelLayer as Reference

        return asyncio.run(_workload(Reference(hosts=[url], prefix=prefix)))
    from gateway.layers.redis.pubsub import RedisPubSubChannelLayer

    # Every member's buffer must hold the probes of the fan-out set-up.
    return asyncio.run(_workload(RedisPubSubChannelLayer(hosts=[url], prefix=prefix)))


def main() -> None:
    from bench.refenv import reference_python

    reference = reference_python("channels-redis", ["channels==4.3.2", "channels-redis==4.3.0"])
    url, server = _start_redis()
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "channels_redis": []}
    try:
        for _ in range(REPEATS):
            runs["ours"].append(_run_in(sys.executable, "ours", url, __file__))
            runs["channels_redis"].append(_run_in(reference, "channels_redis", url, __file__))
    finally:
        if server is not None:
            server.kill()
            server.wait()
    ours, theirs = _best(runs["ours"]), _best(runs["channels_redis"])
    print(
        f"redis: {url}; best of {REPEATS} interleaved runs; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print("| figure (Pub/Sub layer) | ours | channels_redis | ours/ref |")
    print("| --- | ---: | ---: | ---: |")
    for name, value in ours.items():
        ref = theirs[name]
        print(f"| {name} | {value:,.1f} | {ref:,.1f} | {value / ref:.2f}x |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(sys.argv[2], sys.argv[3])))
    else:
        main()
