"""Fixtures for deployment tests: a fresh PostgreSQL database and a private Redis key prefix."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from tests.conftest import missing, require_service


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database created for this test (as the add-on provisions one), dropped afterwards."""
    import psycopg

    admin_url = os.environ.get("TEST_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    require_service(admin_url, 5432, "run `make services` or start PostgreSQL (trust auth)")
    name = f"gateway_deploy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A REDIS_KEY_PREFIX no other test uses; its keys are deleted afterwards."""
    prefix = f"deploytest-{uuid.uuid4().hex[:10]}:"
    yield prefix
    delete_prefixed(redis_url, prefix)


def delete_prefixed(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (what a test's processes left in the shared Redis)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def tls_redis_url(tmp_path: Path) -> Iterator[str]:
    """rediss:// to a private redis-server with a self-signed certificate, as Heroku Redis."""
    from tests.integration.redis_layer.conftest import RedisServer
    from tests.integration.redis_layer.test_tls import self_signed

    if shutil.which("redis-server") is None:
        missing("redis-server is not installed: run `make services` (it apt-gets it)")
    server = RedisServer(tls=self_signed(tmp_path))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
