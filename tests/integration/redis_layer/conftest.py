"""Fixtures for the Redis layer: a layer with its own key prefix, and private redis-servers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.layers.redis import RedisChannelLayer
from tests.conftest import missing


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server on a spare port, without persistence, that tests may kill."""

    def __init__(self, port: int | None = None, tls: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.tls = tls  # (certificate file, key file): serve TLS only
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.tls:
            listen = ["--port", "0", "--tls-port", str(self.port)]
            listen += ["--tls-cert-file", self.tls[0], "--tls-key-file", self.tls[1]]
            listen += ["--tls-auth-clients", "no"]
        else:
            listen = ["--port", str(self.port)]
        self.process = subprocess.Popen(
            [
                "redis-server",
                *listen,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        tls = {"ssl": True, "ssl_cert_reqs": "none", "ssl_check_hostname": False}
        options = tls if self.tls else {}
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, **options)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextmanager
def sentinel_for(master: RedisServer, directory: Path) -> Iterator[int]:
    """Run a redis-sentinel monitoring ``master`` as "mymaster"; yield its port."""
    port = free_port()
    config = directory / f"sentinel-{port}.conf"
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
        yield port
    finally:
        sentinel.kill()
        sentinel.wait()


@pytest.fixture
def redis_server() -> Callable[[], RedisServer]:
    """Start private redis-servers on demand; all are killed after the test."""
    if shutil.which("redis-server") is None:
        missing("redis-server is not installed: run `make services` (apt-get install redis-server)")
    servers: list[RedisServer] = []

    def start(tls: tuple[str, str] | None = None) -> RedisServer:
        server = RedisServer(tls=tls)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses (tests share one Redis)."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_layer(redis_url: str, prefix: str) -> Iterator[Callable[..., RedisChannelLayer]]:
    """Build layers on the shared Redis under this test's prefix; their keys are deleted after."""

    def make(**config: Any) -> RedisChannelLayer:
        config.setdefault("hosts", [redis_url])
        config.setdefault("prefix", prefix)
        return RedisChannelLayer(**config)

    yield make
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
async def layer(make_layer: Callable[..., RedisChannelLayer]) -> AsyncIterator[RedisChannelLayer]:
    channel_layer = make_layer()
    yield channel_layer
    await channel_layer.close()
