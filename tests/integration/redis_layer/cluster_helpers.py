"""A private Redis Cluster for tests: redis-server in cluster mode on free ports, in a temp dir."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports nothing listens on (held together while picked)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class LocalCluster:
    """``masters`` masters (each with ``replicas`` replicas), made with ``redis-cli --cluster``.

    Args:
        directory: where the nodes keep their cluster config files.
        node_timeout: milliseconds before a silent master is failed over (kept short).
    """

    def __init__(
        self, directory: Path, masters: int = 3, replicas: int = 0, node_timeout: int = 1000
    ) -> None:
        self.directory = directory
        self.count = masters * (1 + replicas)
        self.replicas = replicas
        self.node_timeout = node_timeout
        ports = free_ports(2 * self.count)
        self.ports = ports[: self.count]
        # The cluster bus defaults to port + 10000, which may be taken or above 65535.
        self.bus_ports = dict(zip(self.ports, ports[self.count :], strict=True))
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def seed(self) -> str:
        """The URLs of every node (the layer's CONFIG hosts: any that answers will do)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    @property
    def seeds(self) -> list[str]:
        """The URLs of every node, for a layer that must survive one of them dying."""
        return [f"redis://127.0.0.1:{port}" for port in self.ports]

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
        )
        for port in self.ports:
            self.wait_until_ok(port)
        for port in self.ports:
            self.wait_until_synced(port)

    def wait_until_synced(self, port: int, timeout: float = 20) -> None:
        """Wait until a replica's link to its master is up (a master returns at once)."""
        client = redis.Redis(port=port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = client.info("replication")
            if info.get("role") == "master" or info.get("master_link_status") == "up":
                return
            time.sleep(0.05)
        raise RuntimeError(f"replica {port} did not sync with its master in {timeout} s")

    def start_node(self, port: int) -> None:
        node_dir = self.directory / str(port)
        node_dir.mkdir(exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-port", str(self.bus_ports[port])),
                # A replica may take over however recently it synced (tests kill masters early).
                *("--cluster-replica-validity-factor", "0"),
                *("--cluster-node-timeout", str(self.node_timeout), "--dir", str(node_dir)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port, socket_connect_timeout=0.2, retry=None)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"cluster node on port {port} did not start")

    def wait_until_ok(self, port: int, timeout: float = 20) -> None:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = client.cluster("info")
            state = info.get("cluster_state") if isinstance(info, dict) else None
            if state == "ok":
                return
            time.sleep(0.05)
        raise RuntimeError(f"cluster node {port} is not ok after {timeout} s")

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port)

    def owner_of(self, key: str) -> int:
        """Port of the master that serves ``key``'s slot."""
        alive = next(iter(self.processes))
        client = redis.RedisCluster(host="127.0.0.1", port=alive, socket_connect_timeout=0.5)
        try:
            node = client.get_node_from_key(key)
            return int(node.port)
        finally:
            client.close()

    def wait_for_new_master(self, key: str, old: int, timeout: float = 20) -> None:
        """Wait until a node other than ``old`` serves ``key``'s slot (a replica took over)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.owner_of(key) != old:
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no replica took over from {old} within {timeout} s")

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait()

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)


def node_id(client: redis.Redis) -> str:
    raw = client.execute_command("CLUSTER", "MYID")
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def move_slot(cluster: LocalCluster, slot: int, source: int, target: int) -> None:
    """Move ``slot`` (with its keys) from the master on port ``source`` to the one on ``target``,
    as ``redis-cli --cluster reshard`` does: IMPORTING/MIGRATING, MIGRATE, then SETSLOT NODE."""
    src, dst = cluster.node(source), cluster.node(target)
    src_id, dst_id = node_id(src), node_id(dst)
    dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
        src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
    for port in cluster.ports:
        try:
            cluster.node(port).execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        except redis.ResponseError:
            pass  # a replica refuses SETSLOT; it follows its master
