"""Redis Cluster for the Redis layer: ``"CONFIG": {"hosts": [...seed nodes...], "cluster": True}``.

The layer's keys carry a hash tag (``asgi:c:{name}``, see :mod:`gateway.layers.redis.scripts`),
so every Lua script it runs touches one slot: a send touches the target channel's list (and,
for a process-local channel, its process's count hash, which shares the tag); a group_send
first reads the group (one slot), then pushes once per receiving list. redis-py's
:class:`~redis.asyncio.cluster.RedisCluster` routes each command by its first key, follows
``MOVED``/``ASK`` redirections when slots move, and refreshes its slot map when a master fails
over; while no master answers for a slot, the layer's own retry (``reconnect_timeout``) waits.

The two classes here give the layer's loop state the same small API as its single-server
:class:`~gateway.layers.redis.multiplex.Multiplexer`, over a cluster client instead of one
pipelined connection (cluster mode trades that pipelining for redis-py's routing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from gateway.exceptions import ConfigurationError
from gateway.layers.redis.hosts import _KEEPALIVE, CERT_REQS

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


class ClusterCommands:
    """The Multiplexer API (``execute``, ``evalsha``, ``close``) over a cluster client.

    Every command is routed by redis-py from its first key, so scripts get their keys in
    ``keys`` (at least one: the slot they run in).
    """

    def __init__(self, client: RedisCluster) -> None:
        self.client = client

    async def execute(self, *args: Any) -> Any:
        """Send one command (its first argument after the name is the key it routes by)."""
        return await self.client.execute_command(*args)

    async def evalsha(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """Run a script by SHA on the node of ``keys[0]``; load it there if that node lacks it.

        Raises:
            redis.exceptions.ResponseError: Redis answered with an error.
        """
        try:
            return await self.client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            # A node that joined or restarted has no scripts: EVAL loads it there.
            return await self.client.eval(script.script, len(keys), *keys, *args)

    async def close(self, reuse: bool = False) -> None:
        """Nothing of its own to close: the cluster client's connections close with it."""


class ClusterReaderConnection:
    """The direct-mode Multiplexer API (``connect``, ``write``, ``read``, ``close``) for a
    reader's blocking pops on a cluster: written commands run one after the other, each on the
    node that serves its key, through redis-py (which follows redirections)."""

    def __init__(self, client: RedisCluster) -> None:
        self.client = client
        self._pending: list[tuple[Any, ...]] = []

    async def connect(self) -> None:
        """Nothing to open ahead: redis-py connects to a node on its first command."""

    def write(self, *commands: tuple[Any, ...]) -> None:
        """Queue ``commands``; :meth:`read` runs them in order."""
        self._pending.extend(commands)

    async def read(self, count: int) -> list[Any]:
        """Run the next ``count`` queued commands; error replies are returned, not raised.

        Raises:
            redis.exceptions.ConnectionError: no node answered (the caller backs off).
        """
        replies: list[Any] = []
        for _ in range(count):
            command = self._pending.pop(0)
            try:
                replies.append(await self.client.execute_command(*command))
            except ResponseError as exc:
                replies.append(exc)
            except BaseException:
                self._pending.clear()  # as a lost connection loses what was written to it
                raise
        return replies

    async def close(self, reuse: bool = False) -> None:
        """Forget queued commands (the cluster client owns the connections)."""
        self._pending.clear()
