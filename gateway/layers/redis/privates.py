"""Every redis-py private the Redis layer touches, in one module, for one redis-py version.

:mod:`gateway.layers.redis.multiplex` writes commands to and reads replies from the streams of
a connection redis-py opened (TLS, AUTH, SELECT and Sentinel stay redis-py's job). redis-py
has no public accessor for them, so the two functions below read ``AbstractConnection._reader``
and ``_writer``. Checked against redis-py :data:`SUPPORTED_REDIS` exactly: importing this
module with another version installed raises
:class:`~gateway.exceptions.UnsupportedDependency`, and tests/unit/gateway/test_versions.py
fails when requirements.txt pins another version. To upgrade redis-py: check that
``redis.asyncio.connection.AbstractConnection`` still keeps its ``asyncio`` streams in
``_reader`` / ``_writer`` (set by ``connect()``, None once disconnected), run
tests/integration/redis_layer, then raise :data:`SUPPORTED_REDIS` with the pin.
"""

from __future__ import annotations

import asyncio

from redis.asyncio.connection import AbstractConnection

from gateway.versions import require_version

__all__ = ["SUPPORTED_REDIS", "stream_reader", "stream_writer"]

#: The one redis-py version the accessors below were checked against.
SUPPORTED_REDIS = "8.1.0"
require_version("redis", SUPPORTED_REDIS, module=__name__)


def stream_reader(connection: AbstractConnection) -> asyncio.StreamReader | None:
    """The connection's socket reader, or None when it is not connected."""
    return connection._reader


def stream_writer(connection: AbstractConnection) -> asyncio.StreamWriter | None:
    """The connection's socket writer, or None when it is not connected."""
    return connection._writer
