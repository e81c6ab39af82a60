"""async_to_sync from threads (one event loop per call) and sharding over two servers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
import redis
from asgiref.sync import async_to_sync

from gateway.exceptions import InvalidState
from gateway.layers.redis import RedisChannelLayer

from .conftest import RedisServer

pytestmark = pytest.mark.integration


def test_async_to_sync_from_threads_neither_fails_nor_piles_up_connections(
    redis_server: Callable[[], RedisServer],
) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                async_to_sync(layer.send)(f"test.thread{n}", {"type": "m", "i": i})
            received = [async_to_sync(layer.receive)(f"test.thread{n}")["i"] for _ in range(20)]
            assert received == list(range(20))
            async_to_sync(layer.group_add)("threads", f"test.thread{n}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    async_to_sync(layer.group_send)("threads", {"type": "all"})
    assert async_to_sync(layer.receive)("test.thread3") == {"type": "all"}
    # Each call ran in its own short-lived loop; closing that loop closed its connections.
    assert len(layer._states) == 0
    clients = redis.Redis(port=server.port).client_list()
    assert len(clients) == 1  # only the client that asks


def test_sync_code_and_server_loop_share_a_layer(redis_server: Callable[[], RedisServer]) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])

    async def serve() -> dict:
        name = await layer.new_channel()
        waiting = asyncio.create_task(layer.receive(name))
        await asyncio.sleep(0.05)
        # A sync view or Celery task in a worker thread sends to the consumer's channel.
        await asyncio.to_thread(async_to_sync(layer.send), name, {"type": "from sync"})
        message = await waiting
        await layer.close()
        return message

    assert asyncio.run(serve()) == {"type": "from sync"}


async def test_sharding_over_two_servers(redis_server: Callable[[], RedisServer]) -> None:
    one, two = redis_server(), redis_server()
    layer = RedisChannelLayer(hosts=[one.url, (("127.0.0.1", two.port))])
    other = RedisChannelLayer(hosts=[one.url, two.url])
    names = [f"test.shard{i}" for i in range(40)]
    for i, name in enumerate(names):
        await layer.send(name, {"type": "m", "i": i})
    counts = [redis.Redis(port=server.port).dbsize() for server in (one, two)]
    assert all(count > 0 for count in counts) and sum(counts) == 40
    # Another process with the same hosts finds every channel.
    assert [(await other.receive(name))["i"] for name in names] == list(range(40))
    # Groups: members on both shards, plus process-local channels of another process.
    locals_ = [await other.new_channel() for _ in range(3)]
    for member in [*names, *locals_]:
        await layer.group_add("everyone", member)
    await layer.group_send("everyone", {"type": "all"})
    for member in [*names, *locals_]:
        assert await other.receive(member) == {"type": "all"}
    await layer.flush()
    assert [redis.Redis(port=s.port).dbsize() for s in (one, two)] == [0, 0]
    await layer.close()
    await other.close()


def test_read_ahead_is_put_back_when_a_short_lived_loop_closes(
    redis_server: Callable[[], RedisServer],
) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])
    name = async_to_sync(layer.new_channel)()
    for i in range(10):
        async_to_sync(layer.send)(name, {"type": "m", "i": i})
    # Each call reads the whole process list ahead, takes one, and returns the rest on close.
    assert [async_to_sync(layer.receive)(name)["i"] for _ in range(10)] == list(range(10))


def test_group_item_for_several_channels_is_put_back_per_channel(
    redis_server: Callable[[], RedisServer],
) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])
    names = [async_to_sync(layer.new_channel)() for _ in range(3)]
    for name in names:
        async_to_sync(layer.group_add)("trio", name)
    async_to_sync(layer.group_send)("trio", {"type": "m"})
    # One item in Redis addresses all three; each short-lived loop takes one and puts the
    # rest back addressed to each remaining channel alone: no loss, no duplicate.
    for name in names:
        assert async_to_sync(layer.receive)(name) == {"type": "m"}

    async def nothing_left() -> None:
        for name in names:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(layer.receive(name), 0.2)
        await layer.close()

    asyncio.run(nothing_left())


def test_two_loops_may_not_receive_one_process_list(
    redis_server: Callable[[], RedisServer],
) -> None:
    server = redis_server()
    layer = RedisChannelLayer(hosts=[server.url])

    async def serve() -> None:
        name = await layer.new_channel()
        waiting = asyncio.create_task(layer.receive(name))
        await asyncio.sleep(0.05)
        other = await layer.new_channel()
        with pytest.raises(InvalidState, match="another event loop"):
            await asyncio.to_thread(async_to_sync(layer.receive), other)
        await layer.send(name, {"type": "still fine"})
        assert await waiting == {"type": "still fine"}
        await layer.close()

    asyncio.run(serve())
