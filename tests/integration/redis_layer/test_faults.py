"""Redis restarts and dropped connections: receivers and senders recover by themselves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
import redis

from gateway.exceptions import ChannelLayerUnavailable
from gateway.layers.redis import RedisChannelLayer

from .conftest import RedisServer, free_port

pytestmark = pytest.mark.integration


def outage_lines(caplog: pytest.LogCaptureFixture, port: int) -> tuple[int, int]:
    down = up = 0
    for record in caplog.records:
        text = record.getMessage()
        if f":{port}" in text:
            down += "unreachable" in text
            up += "reachable again" in text
    return down, up


async def test_receiver_survives_a_restart(
    redis_server: Callable[[], RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])
    name = await layer.new_channel()
    with caplog.at_level(logging.INFO, logger="gateway.layers.redis"):
        waiting = asyncio.create_task(layer.receive(name))
        normal = asyncio.create_task(layer.receive("test.worker"))
        await asyncio.sleep(0.1)
        server.stop()
        await asyncio.sleep(0.5)  # readers fail and back off meanwhile
        assert not waiting.done()
        server.start()
        await layer.send(name, {"type": "after restart"})
        await layer.send("test.worker", {"type": "after restart"})
        assert await asyncio.wait_for(waiting, 10) == {"type": "after restart"}
        assert await asyncio.wait_for(normal, 10) == {"type": "after restart"}
    assert outage_lines(caplog, server.port) == (1, 1)  # one line per outage, each way
    await layer.close()


async def test_sender_waits_for_redis_to_come_back(
    redis_server: Callable[[], RedisServer],
) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])
    server.stop()
    sending = asyncio.create_task(layer.send("test.later", {"type": "m"}))
    await asyncio.sleep(0.3)
    assert not sending.done()
    server.start()
    await asyncio.wait_for(sending, 10)
    assert await asyncio.wait_for(layer.receive("test.later"), 10) == {"type": "m"}
    await layer.close()


async def test_what_redis_kept_is_delivered_after_connections_drop(
    redis_server: Callable[[], RedisServer],
) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])
    name = await layer.new_channel()
    await layer.send(name, {"type": "m", "n": 1})
    assert await layer.receive(name) == {"type": "m", "n": 1}
    await layer.send(name, {"type": "m", "n": 2})
    await layer.send("test.kept", {"type": "kept"})
    admin = redis.Redis(port=server.port)
    assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
    assert await asyncio.wait_for(layer.receive(name), 10) == {"type": "m", "n": 2}
    assert await asyncio.wait_for(layer.receive("test.kept"), 10) == {"type": "kept"}
    await layer.close()


async def test_send_gives_up_after_reconnect_timeout() -> None:
    layer = RedisChannelLayer(hosts=[f"redis://127.0.0.1:{free_port()}"], reconnect_timeout=0.2)
    with pytest.raises(ChannelLayerUnavailable, match=r"unreachable for 0\.2 s"):
        await layer.send("test.nowhere", {"type": "m"})
    with pytest.raises(ConnectionError):  # also a ConnectionError, for generic handlers
        await layer.group_send("g", {"type": "m"})
    await layer.close()
