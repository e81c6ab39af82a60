"""Shared test fixtures: service checks that fail in CI and skip locally."""

from __future__ import annotations

import os
import socket
from typing import NoReturn
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# No per-example deadline: the suite must not assert timing, and a loaded CI machine is slow.
settings.register_profile(
    "gateway", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("gateway")


def service_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def missing(message: str) -> NoReturn:
    """A service or tool a test needs is absent: fail in CI (nothing may skip there), else skip."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_service(url: str, default_port: int, how_to_start: str) -> tuple[str, int]:
    """Return (host, port) of a service, or fail (in CI) / skip (locally) saying how to start it."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    if not service_answers(host, port):
        missing(f"nothing answers on {host}:{port} ({url}): {how_to_start}")
    return host, port


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis (REDIS_URL or redis://127.0.0.1:6379/0)."""
    url = (
        os.environ.get("TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    )
    require_service(url, 6379, "run `make services` or start redis-server")
    return url


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """A reachable MQTT broker (MQTT_URL or mqtt://127.0.0.1:1883)."""
    url = os.environ.get("TEST_MQTT_URL") or os.environ.get("MQTT_URL") or "mqtt://127.0.0.1:1883"
    require_service(url, 1883, "run `make services` or start mosquitto")
    return url
