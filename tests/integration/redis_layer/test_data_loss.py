"""Groups survive Redis data loss: a redis-server this test starts is SIGKILLed and restarted
empty, or from its AOF; an outage longer than reconnect_timeout keeps consumers running."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.clock import FakeClock
from gateway.exceptions import ChannelLayerUnavailable
from gateway.layers.redis import RedisChannelLayer
from tests.integration.redis_layer.conftest import free_port

pytestmark = pytest.mark.integration


class Server:
    """A redis-server on a fixed spare port in its own directory, killed and restarted at will."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, aof: bool) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if aof else []
        persistence = persistence or ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--save", "", *persistence),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(250):
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    instance = Server(tmp_path)
    yield instance
    instance.kill()


def make_layer(server: Server, **config: Any) -> RedisChannelLayer:
    config.setdefault("group_check_interval", 1.0)
    config.setdefault("clock", FakeClock())
    return RedisChannelLayer(hosts=[server.url], prefix="dataloss", **config)


async def until(condition: Callable[[], object], what: str) -> float:
    """Wait for Redis round trips to make ``condition`` true; return the seconds it took."""
    started = time.monotonic()
    for _ in range(500):
        if condition():
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    pytest.fail(f"{what} did not happen within 5 s")


async def receive_all(layer: RedisChannelLayer, channel: str, count: int) -> list[Any]:
    return [(await layer.receive(channel))["n"] for _ in range(count)]


async def test_groups_come_back_after_an_empty_restart(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.start(aof=False)
    layer, sender = make_layer(server), make_layer(server)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await sender.group_send("room", {"type": "m", "n": 0})
    assert await receive_all(layer, channel, 1) == [0]

    server.kill()
    server.start(aof=False)  # empty: the group is gone from Redis
    assert redis.Redis(port=server.port).exists("dataloss:g:{room}") == 0
    with caplog.at_level(logging.WARNING, "gateway.layers.redis"):
        # The receiving process notices by itself, at its next check.
        layer.keeper.clock.advance(1.0)  # type: ignore[attr-defined]
        recovery = await until(lambda: layer.keeper.restores, "the restore")
    assert layer.keeper.restores == 1
    assert "lost this process's group memberships" in caplog.text
    await sender.group_send("room", {"type": "m", "n": 1})
    assert await asyncio.wait_for(receive_all(layer, channel, 1), 5) == [1]
    print(f"membership restored {recovery:.3f} s after the empty restart")
    await layer.close()
    await sender.close()


async def test_the_first_group_send_after_a_restart_waits_for_the_restore(server: Server) -> None:
    # One process both member and sender: its group_send waited through the outage and must
    # not reach the empty group before the restore.
    server.start(aof=False)
    layer = make_layer(server)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    server.kill()
    sending = asyncio.create_task(layer.group_send("room", {"type": "m", "n": 7}))
    await asyncio.sleep(0.3)
    server.start(aof=False)
    await asyncio.wait_for(sending, 10)
    assert await asyncio.wait_for(receive_all(layer, channel, 1), 5) == [7]
    await layer.close()


async def test_aof_restart_burst_is_not_refused_for_capacity(server: Server) -> None:
    # Persistence on: what Redis kept comes back; 300 group_sends that waited through the
    # outage reach a member of capacity 100 in one burst, and none is dropped.
    server.start(aof=True)
    layer = make_layer(server, capacity=100)
    sender = make_layer(server, capacity=100)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await sender.send(channel, {"type": "m", "n": -1})  # kept by the AOF
    server.kill()
    sends = [
        asyncio.create_task(sender.group_send("room", {"type": "m", "n": n})) for n in range(300)
    ]
    await asyncio.sleep(0.3)
    server.start(aof=True)
    await asyncio.wait_for(asyncio.gather(*sends), 15)
    got = await asyncio.wait_for(receive_all(layer, channel, 301), 15)
    assert got[0] == -1
    assert sorted(got[1:]) == list(range(300))
    await layer.close()
    await sender.close()


async def test_memberships_are_refreshed_before_group_expiry(server: Server) -> None:
    server.start(aof=False)
    clock = FakeClock()
    layer = make_layer(server, group_expiry=3, clock=clock)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    client = redis.Redis(port=server.port)
    await until(lambda: layer.keeper.refreshed_at[0] is not None, "the first check")
    first = client.zscore("dataloss:g:{room}", channel)
    assert first is not None
    time.sleep(0.01)  # wall-clock scores: the refresh must be able to write a later one
    clock.advance(1.1)  # refreshed every group_expiry / 3 = 1 s
    await until(lambda: (client.zscore("dataloss:g:{room}", channel) or 0) > first, "the refresh")
    await layer.group_discard("room", channel)
    assert client.zscore("dataloss:g:{room}", channel) is None
    assert len(layer.memberships) == 0
    await layer.close()


async def test_an_outage_longer_than_the_bound_fails_calls_with_one_log_line(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.start(aof=False)
    layer = make_layer(server, reconnect_timeout=0.3)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    server.kill()
    with caplog.at_level(logging.WARNING, "gateway.layers.redis"):
        results = await asyncio.gather(
            *(layer.group_send("room", {"type": "m", "n": n}) for n in range(50)),
            return_exceptions=True,
        )
    assert all(isinstance(result, ChannelLayerUnavailable) for result in results)
    gave_up = [r for r in caplog.records if "unreachable for longer than" in r.getMessage()]
    assert len(gave_up) == 1
    assert not any(r.exc_info for r in caplog.records)
    server.start(aof=False)
    await layer.group_send("room", {"type": "m", "n": 1})
    assert await asyncio.wait_for(receive_all(layer, channel, 1), 5) == [1]
    await layer.close()
