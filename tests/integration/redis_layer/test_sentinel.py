"""A Sentinel host: the layer asks Sentinel for the master and talks to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from gateway.layers.redis import RedisChannelLayer

from .conftest import RedisServer, sentinel_for

pytestmark = pytest.mark.integration


async def test_sentinel_host(redis_server: Callable[..., RedisServer], tmp_path: Path) -> None:
    master = redis_server()
    with sentinel_for(master, tmp_path) as port:
        layer = RedisChannelLayer(
            hosts=[{"sentinels": [("127.0.0.1", port)], "master_name": "mymaster"}]
        )
        name = await layer.new_channel()
        await layer.group_add("room", name)
        await layer.group_send("room", {"type": "via sentinel"})
        assert await layer.receive(name) == {"type": "via sentinel"}
        assert redis.Redis(port=master.port).exists(layer.group_key("room"))
        await layer.close()
