"""Redis layer on a Redis Cluster beside the same layer on one Redis, same run, same workload.

Run: ``BENCH=redis_cluster make bench`` (or ``.venv/bin/python bench/bench_redis_cluster.py``).

channels_redis has no cluster mode (its issue #420), so the reference here is our own layer on
one redis-server: the figures show what the cluster's routing costs a client. The cluster is
3 masters (redis-server in cluster mode on spare ports, in a temp dir, made with
``redis-cli --cluster create``), all on this machine; the single server is one more
redis-server. Workload: bench_redis_layer's (round trips, 1,000 channels, fan-out to
10/100/1,000 members). Interleaved repeats, best of each.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_redis_layer import CAPACITY, _best, _start_redis, _workload
from tests.integration.redis_layer.cluster_helpers import LocalCluster

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def _run(url: str, cluster: bool) -> dict[str, float]:
    from gateway.layers.redis import RedisChannelLayer

    async def run() -> dict[str, float]:
        layer = RedisChannelLayer(
            hosts=[url], cluster=cluster, prefix=f"bench{uuid.uuid4().hex[:8]}", capacity=CAPACITY
        )
        try:
            # redis CPU from INFO means one server: on a cluster it is one node of three.
            return {k: v for k, v in (await _workload(layer, url)).items() if "redis CPU" not in k}
        finally:
            await layer.close()

    return asyncio.run(run())


def main() -> None:
    url, server = _start_redis()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as directory:
        cluster = LocalCluster(Path(directory), masters=3)
        runs: dict[str, list[dict[str, float]]] = {"cluster": [], "single": []}
        try:
            cluster.start()
            for _ in range(REPEATS):
                runs["cluster"].append(_run(cluster.seed, cluster=True))
                runs["single"].append(_run(url, cluster=False))
        finally:
            cluster.stop()
            if server is not None:
                server.kill()
                server.wait()
    on_cluster, single = _best(runs["cluster"]), _best(runs["single"])
    print(
        f"cluster: 3 masters from {cluster.seed}; single: {url}; best of {REPEATS} interleaved "
        f"runs; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print("| figure (RedisChannelLayer) | Redis Cluster | one Redis | cluster/single |")
    print("| --- | ---: | ---: | ---: |")
    for name, value in on_cluster.items():
        print(f"| {name} | {value:,.1f} | {single[name]:,.1f} | {value / single[name]:.2f}x |")


if __name__ == "__main__":
    main()
