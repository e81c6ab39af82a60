"""Redis Cluster for the Redis layer: ``"CONFIG": {"hosts": [...seed nodes...], "cluster": True}``.

The layer's keys carry a hash tag (``asgi:c:{name}``, see :mod:`gateway.layers.redis.scripts`),
so every Lua script it runs touches one slot: a send touches the target channel's list (and,
for a process-local channel, its process's count hash, which shares the tag); a group_send
first reads the group (one slot), then pushes once per receiving list. redis-py's
:class:`~redis.asyncio.cluster.RedisCluster` routes each command by its first key, follows
``MOVED``/``ASK`` redirections when slots move, and refreshes its slot map when a master fails
over; while no master answers for a slot, the layer's own retry (``reconnect_timeout``) waits.

The two classes here give the layer's loop state the same small API as its single-server
:class:`~gateway.layers.redis.multiplex.Multiplexer`. Fast path: a command goes, pipelined, over
one Multiplexer connection per master, to the node redis-py's slot map names for its key.
Whenever that node answers with a redirection (``MOVED``, ``ASK``, ``TRYAGAIN``,
``CLUSTERDOWN``) or cannot be reached, the command is sent again through redis-py's
``RedisCluster``, which follows the redirection, refreshes the map (the next fast-path command
uses the new owner) and retries; a redirected command was not executed, so nothing is done
twice. Before redis-py has loaded the map (the first command), everything takes that path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import ConnectionPool, SSLConnection
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import NoScriptError, RedisError, ResponseError

from gateway.exceptions import ConfigurationError
from gateway.layers.redis.faults import CONNECTION_ERRORS
from gateway.layers.redis.hosts import _KEEPALIVE, BASE_KWARGS, CERT_REQS
from gateway.layers.redis.multiplex import Multiplexer

#: Error replies that mean "not here, not now": the command was not executed.
_REDIRECTIONS = ("MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN")

# As for single servers (hosts.BASE_KWARGS): no socket timeout, since blocking pops wait;
# TCP keepalive notices a silent node instead.
CLUSTER_KWARGS: dict[str, Any] = {
    "socket_timeout": None,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "socket_keepalive_options": _KEEPALIVE,
}


@dataclass(frozen=True)
class ClusterSpec:
    """How to build a cluster client from seed nodes, and a password-free label for logs."""

    label: str
    seeds: tuple[tuple[str, int], ...]
    kwargs: dict[str, Any] = field(default_factory=dict, repr=False)

    def make_client(self) -> RedisCluster:
        """A new cluster client; its connections belong to the loop that first uses them."""
        nodes = [ClusterNode(host, port) for host, port in self.seeds]
        return RedisCluster(startup_nodes=nodes, **CLUSTER_KWARGS, **self.kwargs)


def parse_cluster_hosts(
    hosts: Sequence[Any] | None, ssl_cert_reqs: str | None = None
) -> ClusterSpec:
    """Turn CONFIG ``hosts`` into cluster seed nodes (any reachable node of the cluster).

    Entries are ``redis://[user:password@]host:port`` / ``rediss://...`` URLs or ``(host, port)``
    pairs; credentials and TLS come from the first URL and apply to every node.

    Raises:
        ConfigurationError: no hosts, a Sentinel or unix socket host, a database number, or
            an entry we do not understand.
    """
    if not hosts or isinstance(hosts, str | bytes | dict):
        raise ConfigurationError(
            f"CONFIG hosts must be a non-empty list of cluster nodes, got {hosts!r}: "
            'e.g. ["redis://127.0.0.1:7000"] with "cluster": True'
        )
    seeds: list[tuple[str, int]] = []
    kwargs: dict[str, Any] = {}
    for entry in hosts:
        if isinstance(entry, tuple | list) and len(entry) == 2:
            seeds.append((str(entry[0]), int(entry[1])))
            continue
        if not isinstance(entry, str):
            raise ConfigurationError(
                f"cannot use {entry!r} as a Redis Cluster node: give a redis:// or rediss:// "
                "URL or a (host, port) pair (Sentinel does not apply to a cluster)"
            )
        parts = urlsplit(entry)
        if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
            raise ConfigurationError(
                f"Redis Cluster node {parts.scheme}://{parts.hostname}... must be a "
                "redis:// or rediss:// URL with a host (unix sockets cannot form a cluster)"
            )
        if parts.path.strip("/") not in {"", "0"}:
            raise ConfigurationError(
                f"Redis Cluster has only database 0, got {parts.path!r} in a cluster host URL"
            )
        seeds.append((parts.hostname, parts.port or 6379))
        if not kwargs:
            if parts.username:
                kwargs["username"] = unquote(parts.username)
            if parts.password:
                kwargs["password"] = unquote(parts.password)
            if parts.scheme == "rediss":
                kwargs["ssl"] = True
                if ssl_cert_reqs is not None:
                    value = str(ssl_cert_reqs).lower()
                    if value not in CERT_REQS:
                        raise ConfigurationError(
                            f"ssl_cert_reqs must be one of {', '.join(CERT_REQS)}, "
                            f"got {ssl_cert_reqs!r}"
                        )
                    kwargs["ssl_cert_reqs"] = value
                    kwargs["ssl_check_hostname"] = value != "none"
    label = "cluster:" + ",".join(f"{host}:{port}" for host, port in seeds)
    return ClusterSpec(label, tuple(seeds), kwargs)


class NodeConnections:
    """One pipelined :class:`Multiplexer` per master, found from redis-py's slot map."""

    def __init__(self, client: RedisCluster, spec: ClusterSpec) -> None:
        self.client = client
        kwargs = {**BASE_KWARGS, **spec.kwargs}
        if kwargs.pop("ssl", False):
            kwargs["connection_class"] = SSLConnection
        self._kwargs = kwargs
        self._by_node: dict[str, Multiplexer] = {}

    def for_key(self, key: str, direct: bool = False) -> Multiplexer | None:
        """The connection to the master of ``key``'s slot; None while the map is not loaded
        (or a slot has no master), when the caller goes through redis-py instead."""
        nodes = self.client.nodes_manager
        if not nodes.slots_cache:
            return None
        try:
            node = nodes.get_node_from_slot(key_slot(key.encode()))
        except RedisError:
            return None
        if direct:
            return Multiplexer(self._pool(node), direct=True)
        mux = self._by_node.get(node.name)
        if mux is None:
            mux = self._by_node[node.name] = Multiplexer(self._pool(node))
        return mux

    def _pool(self, node: ClusterNode) -> ConnectionPool:
        return ConnectionPool(host=node.host, port=node.port, **self._kwargs)

    async def close(self) -> None:
        """Close every node connection (pending commands fail)."""
        muxes, self._by_node = list(self._by_node.values()), {}
        for mux in muxes:
            await mux.close()
            await mux.pool.disconnect()


def _redirected(reply: object) -> bool:
    return isinstance(reply, ResponseError) and str(reply).startswith(_REDIRECTIONS)


class ClusterCommands:
    """The Multiplexer API (``execute``, ``evalsha``, ``close``) over a cluster.

    Every command routes by its first key, so scripts get their keys in ``keys`` (at least
    one: the slot they run in).
    """

    def __init__(self, client: RedisCluster, spec: ClusterSpec) -> None:
        self.client = client
        self.nodes = NodeConnections(client, spec)

    async def execute(self, *args: Any) -> Any:
        """Send one command (its first argument after the name is the key it routes by)."""
        mux = self.nodes.for_key(str(args[1])) if len(args) > 1 else None
        if mux is not None:
            try:
                return await mux.execute(*args)
            except ResponseError as exc:
                if not _redirected(exc):
                    raise
            except CONNECTION_ERRORS:
                pass  # redis-py finds out what happened to the node, and retries
        return await self.client.execute_command(*args)

    async def evalsha(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """Run a script by SHA on the node of ``keys[0]``; load it there if that node lacks it.

        Raises:
            redis.exceptions.ResponseError: Redis answered with an error.
        """
        mux = self.nodes.for_key(str(keys[0])) if keys else None
        if mux is not None:
            try:
                return await mux.evalsha(script, keys, args)
            except ResponseError as exc:
                if not _redirected(exc):
                    raise
            except CONNECTION_ERRORS:
                pass
        try:
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            # A node that joined or restarted has no scripts: EVAL loads it there.
            return await self.client.eval(script.script, len(keys), *keys, *args)

    async def close(self, reuse: bool = False) -> None:
        """Close the node connections (the cluster client's own close with the client)."""
        await self.nodes.close()


class ClusterReaderConnection:
    """The direct-mode Multiplexer API (``connect``, ``write``, ``read``, ``close``) for a
    reader's blocking pops of one list (``key``) on a cluster.

    The pops are pipelined on a direct connection to the master of the key's slot. A pop
    answered with a redirection was not executed: it and the ones written after it are run
    through redis-py (which follows the redirection and updates the map), and the next
    :meth:`connect` opens a connection to the new owner.
    """

    def __init__(self, client: RedisCluster, nodes: NodeConnections, key: str) -> None:
        self.client = client
        self.nodes = nodes
        self.key = key
        self._direct: Multiplexer | None = None
        self._written: list[tuple[Any, ...]] = []
        #: Commands to run through redis-py (no direct connection, or after a redirection).
        self._slow: list[tuple[Any, ...]] = []

    async def connect(self) -> None:
        """Open a direct connection to the key's master, if the slot map names one."""
        if self._direct is None:
            self._direct = self.nodes.for_key(self.key, direct=True)
            if self._direct is not None:
                try:
                    await self._direct.connect()
                except CONNECTION_ERRORS:
                    await self._drop_direct()

    def write(self, *commands: tuple[Any, ...]) -> None:
        """Write ``commands`` (each one for :meth:`read`)."""
        if self._direct is not None and not self._slow:
            self._direct.write(*commands)
            self._written.extend(commands)
        else:
            self._slow.extend(commands)

    async def read(self, count: int) -> list[Any]:
        """Return the replies of the next ``count`` commands; error replies are returned.

        Raises:
            redis.exceptions.ConnectionError: no node answered (the caller backs off).
        """
        replies: list[Any] = []
        try:
            while len(replies) < count:
                if self._written and self._direct is not None:
                    (reply,) = await self._direct.read(1)
                    command = self._written.pop(0)
                    if not _redirected(reply):
                        replies.append(reply)
                        continue
                    # Not executed, nor were the pops queued behind it on that node.
                    self._slow = [command, *self._written, *self._slow]
                    self._written = []
                    await self._drop_direct()
                    continue
                command = self._slow.pop(0)
                try:
                    replies.append(await self.client.execute_command(*command))
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            # As a lost connection loses what was written to it.
            self._written, self._slow = [], []
            await self._drop_direct()
            raise
        return replies

    async def _drop_direct(self) -> None:
        direct, self._direct = self._direct, None
        if direct is not None:
            await direct.close()
            await direct.pool.disconnect()

    async def close(self, reuse: bool = False) -> None:
        """Close the direct connection; forget what was queued."""
        self._written, self._slow = [], []
        await self._drop_direct()
