"""RedisChannelLayer on a local Redis Cluster (3 masters, started by the tests): keys spread
over slots, group_send across slots and processes, flush on every node, a slot moved while the
layer runs (MOVED), and a master failed over to its replica."""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.exceptions import ChannelFull, ConfigurationError
from gateway.layers.redis import RedisChannelLayer
from tests.conftest import missing

from .cluster_helpers import LocalCluster, finish_move, move_slot

pytestmark = pytest.mark.integration


def start_cluster(directory: Path, replicas: int) -> LocalCluster:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        missing("redis-server/redis-cli are not installed: run `make services` (it apt-gets them)")
    cluster = LocalCluster(directory, masters=3, replicas=replicas)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = start_cluster(tmp_path_factory.mktemp("cluster"), replicas=0)
    yield running
    running.stop()


@pytest.fixture
async def layer(cluster: LocalCluster) -> AsyncIterator[RedisChannelLayer]:
    made = RedisChannelLayer(hosts=[cluster.seed], cluster=True, prefix=f"t{uuid.uuid4().hex[:8]}")
    yield made
    await made.flush()
    await made.close()


def masters_holding(cluster: LocalCluster, prefix: str) -> set[int]:
    return {
        port
        for port in cluster.ports
        if list(cluster.node(port).scan_iter(match=f"{prefix}:*", count=1000))
    }


async def test_send_receive_on_many_slots(layer: RedisChannelLayer, cluster: LocalCluster) -> None:
    normal = [f"test.normal{n}" for n in range(12)]
    for name in normal:
        await layer.send(name, {"type": "m", "to": name})
    local = await layer.new_channel()
    await layer.send(local, {"type": "local"})
    # Twelve lists hash to twelve slots: more than one master holds them.
    assert len(masters_holding(cluster, layer.prefix)) > 1
    for name in normal:
        assert await layer.receive(name) == {"type": "m", "to": name}
    assert await layer.receive(local) == {"type": "local"}


async def test_group_send_across_slots_and_processes(
    cluster: LocalCluster, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    one, two = (
        RedisChannelLayer(hosts=[cluster.seed], cluster=True, prefix=prefix, capacity=1)
        for _ in range(2)
    )
    members = [await one.new_channel(), await one.new_channel(), await two.new_channel()]
    members.append("test.normal-member")
    for name in members:
        await one.group_add("room", name)
    await one.send("test.normal-member", {"type": "filler"})  # that member is now full
    with caplog.at_level(logging.INFO, logger="gateway.layers.redis"):
        await two.group_send("room", {"type": "hello"})
    assert "1 of 4 channels over capacity in group" in caplog.text
    assert await one.receive(members[0]) == {"type": "hello"}
    assert await one.receive(members[1]) == {"type": "hello"}
    assert await two.receive(members[2]) == {"type": "hello"}
    assert await one.receive("test.normal-member") == {"type": "filler"}
    await one.group_discard("room", members[0])
    await one.group_send("room", {"type": "again"})
    assert await one.receive(members[1]) == {"type": "again"}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(one.receive(members[0]), 0.3)
    await one.flush()
    assert masters_holding(cluster, prefix) == set()
    await one.close()
    await two.close()


async def test_capacity_and_counts_of_process_channels(layer: RedisChannelLayer) -> None:
    layer.capacity = 2
    name = await layer.new_channel()
    await layer.send(name, {"type": "1"})
    await layer.send(name, {"type": "2"})
    with pytest.raises(ChannelFull):
        await layer.send(name, {"type": "3"})
    assert await layer.receive(name) == {"type": "1"}
    # The received count reaches Redis in the same slot as the list: carried by the next send
    # to that process, or by the flush task already on its way (then retry until it landed).
    for _ in range(100):
        try:
            await layer.send(name, {"type": "3"})
            break
        except ChannelFull:
            await asyncio.sleep(0.01)
    assert await layer.receive(name) == {"type": "2"}
    assert await layer.receive(name) == {"type": "3"}


async def test_a_moved_slot_is_followed(layer: RedisChannelLayer, cluster: LocalCluster) -> None:
    name = await layer.new_channel()
    await layer.send(name, {"type": "before"})
    key = layer.channel_key(layer.non_local_name(name))
    source = cluster.owner_of(key)
    target = next(port for port in cluster.ports if port != source)
    slot = int(cluster.node(source).execute_command("CLUSTER", "KEYSLOT", key))
    move_slot(cluster, slot, source, target)
    assert cluster.owner_of(key) == target
    # The layer's slot map is stale: MOVED replies send it to the new owner.
    assert await layer.receive(name) == {"type": "before"}
    await layer.send(name, {"type": "after"})
    assert await layer.receive(name) == {"type": "after"}
    assert cluster.node(target).llen(key) == 0


async def test_a_slot_mid_migration_is_followed(
    layer: RedisChannelLayer, cluster: LocalCluster
) -> None:
    name = await layer.new_channel()
    await layer.send(name, {"type": "before"})
    assert await layer.receive(name) == {"type": "before"}
    await layer.send(name, {"type": "moving"})
    key = layer.channel_key(layer.non_local_name(name))
    source = cluster.owner_of(key)
    target = next(port for port in cluster.ports if port != source)
    slot = int(cluster.node(source).execute_command("CLUSTER", "KEYSLOT", key))
    move_slot(cluster, slot, source, target, finish=False)
    # The source still owns the slot but answers ASK for the keys it gave away.
    assert await asyncio.wait_for(layer.receive(name), 10) == {"type": "moving"}
    # A script whose keys the migration has split between the nodes gets TRYAGAIN until the
    # slot's move ends: the send keeps retrying meanwhile and lands once it has.
    during = asyncio.create_task(layer.send(name, {"type": "during"}))
    await asyncio.wait({during}, timeout=1)
    finish_move(cluster, slot, target)
    await asyncio.wait_for(during, 30)
    assert await asyncio.wait_for(layer.receive(name), 10) == {"type": "during"}
    await layer.send(name, {"type": "after"})
    assert await asyncio.wait_for(layer.receive(name), 10) == {"type": "after"}


async def test_master_failover(tmp_path: Path) -> None:
    cluster = start_cluster(tmp_path, replicas=1)
    try:
        layer = RedisChannelLayer(hosts=cluster.seeds, cluster=True, reconnect_timeout=30)
        name = await layer.new_channel()
        await layer.send(name, {"type": "before"})
        assert await layer.receive(name) == {"type": "before"}
        key = layer.channel_key(layer.non_local_name(name))
        master = cluster.owner_of(key)
        cluster.kill(master)
        # The replica takes over after the node timeout; the layer retries meanwhile.
        survivor = next(port for port in cluster.ports if port != master)
        await asyncio.to_thread(cluster.wait_until_ok, survivor)
        await asyncio.to_thread(cluster.wait_for_new_master, key, master)
        await layer.send(name, {"type": "after failover"})
        assert await asyncio.wait_for(layer.receive(name), 30) == {"type": "after failover"}
        await layer.close()
    finally:
        cluster.stop()


def test_cluster_config_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="only database 0"):
        RedisChannelLayer(hosts=["redis://127.0.0.1:7000/3"], cluster=True)
    with pytest.raises(ConfigurationError, match="braces"):
        RedisChannelLayer(hosts=["redis://127.0.0.1:7000"], cluster=True, prefix="a{b}")
    with pytest.raises(ConfigurationError, match="Sentinel does not apply"):
        sentinel: Any = {"sentinels": [("127.0.0.1", 26379)], "master_name": "m"}
        RedisChannelLayer(hosts=[sentinel], cluster=True)


def test_keys_of_one_process_share_a_slot() -> None:
    layer = RedisChannelLayer(hosts=["redis://127.0.0.1:7000"], cluster=True)
    owner = "specific.abc!"
    # Hash tags: only the text in braces is hashed, so the list and count hash share a slot.
    assert layer.channel_key(owner) == "asgi:c:{specific.abc!}"
    assert layer.count_key(owner) == "asgi:n:{specific.abc!}"
    assert layer.group_key("room") == "asgi:g:{room}"
