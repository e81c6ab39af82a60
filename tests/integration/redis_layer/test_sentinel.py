"""A Sentinel host: the layer asks Sentinel for the master and talks to it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from gateway.layers.redis import RedisChannelLayer

from .conftest import RedisServer, free_port

pytestmark = pytest.mark.integration


async def test_sentinel_host(redis_server: Callable[..., RedisServer], tmp_path: Path) -> None:
    master = redis_server()
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {master.port} 1\n"
    )
    sentinel = subprocess.Popen(
        ["redis-server", str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        for _ in range(200):
            try:
                if client.sentinel_get_master_addr_by_name("mymaster"):
                    break
            except redis.ConnectionError:
                pass
            time.sleep(0.02)
        layer = RedisChannelLayer(
            hosts=[{"sentinels": [("127.0.0.1", port)], "master_name": "mymaster"}]
        )
        name = await layer.new_channel()
        await layer.group_add("room", name)
        await layer.group_send("room", {"type": "via sentinel"})
        assert await layer.receive(name) == {"type": "via sentinel"}
        assert redis.Redis(port=master.port).exists(layer.group_key("room"))
        await layer.close()
    finally:
        sentinel.kill()
        sentinel.wait()
