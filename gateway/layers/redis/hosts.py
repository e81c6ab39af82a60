"""CONFIG "hosts" -> connection pool factories, one per shard (no I/O until a pool connects).

Each entry may be, as channels_redis accepts:

- a URL: ``redis://[:password@]host:port/db``, ``rediss://...`` (TLS), ``unix:///path.sock``;
- a ``(host, port)`` pair;
- a dict of redis-py connection keywords (``{"host": ..., "port": ..., "password": ...}``),
  optionally with ``"address": URL`` instead of host/port;
- a Sentinel dict: ``{"sentinels": [(host, port), ...], "master_name": "mymaster",
  "sentinel_kwargs": {...}, ...connection keywords}``.

``ssl_cert_reqs`` ("required", "optional" or "none") applies to every TLS host: "none" accepts
a self-signed certificate (Heroku Redis) and then skips the host name check too.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import ConnectionPool, SSLConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig

from gateway.exceptions import ConfigurationError

DEFAULT_HOSTS: list[Any] = [("localhost", 6379)]
_KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 15), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}
CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}

# Connection keywords every pool gets. The layer retries by itself (with backoff and one log
# line per outage), so redis-py must not retry underneath it. No socket timeout: a blocking
# pop may wait, and redis-py would wrap every write in asyncio.wait_for (a task per command,
# and on Python 3.11 a cancellation lost when the write finishes at the same moment); TCP
# keepalive notices a silent peer within about 30 s instead.
BASE_KWARGS: dict[str, Any] = {
    "socket_timeout": None,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "socket_keepalive_options": _KEEPALIVE,
    "retry": Retry(NoBackoff(), 0),
    # Redis 7 does not know CLIENT MAINT_NOTIFICATIONS: skip a useless round trip per connection.
    "maint_notifications_config": MaintNotificationsConfig(enabled=False),
}


@dataclass(frozen=True)
class HostSpec:
    """One shard: how to build its connection pool, and a password-free label for logs."""

    label: str
    factory: Callable[..., Any] = field(repr=False)
    args: tuple[Any, ...] = field(default=(), repr=False)
    kwargs: dict[str, Any] = field(default_factory=dict, repr=False)

    def make_pool(self) -> ConnectionPool:
        """Build a new pool; its connections belong to the event loop that first uses them."""
        pool: ConnectionPool = self.factory(*self.args, **self.kwargs)
        return pool


def parse_hosts(hosts: Sequence[Any] | None, ssl_cert_reqs: str | None = None) -> list[HostSpec]:
    """Turn the CONFIG ``hosts`` list into one :class:`HostSpec` per shard.

    Raises:
        ConfigurationError: an entry has a shape or value we do not understand.
    """
    if hosts is None:
        hosts = DEFAULT_HOSTS
    if isinstance(hosts, str | bytes | dict) or not hosts:
        raise ConfigurationError(
            f"CONFIG hosts must be a non-empty list of hosts, got {hosts!r}: "
            'e.g. ["redis://127.0.0.1:6379/0"]'
        )
    tls = _tls_kwargs(ssl_cert_reqs)
    return [_parse_host(entry, tls) for entry in hosts]


def _tls_kwargs(ssl_cert_reqs: str | None) -> dict[str, Any]:
    if ssl_cert_reqs is None:
        return {}
    value = str(ssl_cert_reqs).lower()
    if value not in CERT_REQS:
        raise ConfigurationError(
            f"ssl_cert_reqs must be one of {', '.join(CERT_REQS)}, got {ssl_cert_reqs!r}: "
            'use "none" for a self-signed certificate (Heroku Redis)'
        )
    kwargs: dict[str, Any] = {"ssl_cert_reqs": CERT_REQS[value]}
    if value == "none":
        # Without a verified certificate a host name check means nothing (and ssl refuses it).
        kwargs["ssl_check_hostname"] = False
    return kwargs


def _parse_host(entry: Any, tls: dict[str, Any]) -> HostSpec:
    if isinstance(entry, str):
        return _url_spec(entry, {}, tls)
    if isinstance(entry, tuple | list) and len(entry) == 2:
        host, port = entry
        return HostSpec(
            f"{host}:{port}",
            ConnectionPool,
            kwargs={"host": host, "port": int(port), **BASE_KWARGS},
        )
    if isinstance(entry, dict):
        options = dict(entry)
        if "sentinels" in options or "master_name" in options:
            return _sentinel_spec(options, tls)
        if "address" in options:
            address = options.pop("address")
            if isinstance(address, tuple | list):
                options["host"], options["port"] = address
            else:
                return _url_spec(address, options, tls)
        if options.pop("ssl", False):
            options = {"connection_class": SSLConnection, **tls, **options}
        label = f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
        return HostSpec(label, ConnectionPool, kwargs={**BASE_KWARGS, **options})
    raise ConfigurationError(
        f"cannot use {entry!r} as a Redis host: give a redis://, rediss:// or unix:// URL, "
        "a (host, port) pair, a dict of connection keywords or a Sentinel dict"
    )


def _url_spec(url: str, options: dict[str, Any], tls: dict[str, Any]) -> HostSpec:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigurationError(
            f"Redis URL {_without_password(url)!r} must start with redis://, rediss:// or unix://"
        )
    kwargs = {**BASE_KWARGS, **(tls if parts.scheme == "rediss" else {}), **options}
    return HostSpec(_without_password(url), ConnectionPool.from_url, (url,), kwargs)


def _sentinel_spec(options: dict[str, Any], tls: dict[str, Any]) -> HostSpec:
    try:
        sentinels = [tuple(address) for address in options.pop("sentinels")]
        master_name = options.pop("master_name")
    except KeyError as exc:
        raise ConfigurationError(
            f"a Sentinel host needs both 'sentinels' and 'master_name', missing {exc}"
        ) from None
    sentinel_kwargs = options.pop("sentinel_kwargs", None)
    if options.get("ssl"):
        options.update(tls)
    label = f"sentinel:{master_name}@" + ",".join(f"{h}:{p}" for h, p in sentinels)
    args = (master_name, sentinels, sentinel_kwargs)
    return HostSpec(label, _sentinel_pool, args, {**BASE_KWARGS, **options})


def _sentinel_pool(
    master_name: str,
    sentinels: list[tuple[str, int]],
    sentinel_kwargs: dict[str, Any] | None,
    **kwargs: Any,
) -> SentinelConnectionPool:
    # The Sentinel clients hold connections too: build them with the pool, per event loop.
    manager = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]
    pool: SentinelConnectionPool = SentinelConnectionPool(  # type: ignore[no-untyped-call]
        master_name, manager, **kwargs
    )
    return pool


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{parts.username or ''}:***@{parts.hostname}{port}"
    return parts._replace(netloc=netloc).geturl()
