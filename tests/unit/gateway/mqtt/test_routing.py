"""TopicRouter: resolve, per-device keys, the ASGI call, finding it in a stack."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.exceptions import ConfigurationError, NoRouteFound
from gateway.mqtt.routing import TopicRouter, find_topic_router, topic
from gateway.routing import ProtocolTypeRouter
from gateway.routing import TopicRouter as ReExported


async def record(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["seen"].append(scope["topic_route"])


def make_router() -> TopicRouter:
    return TopicRouter(
        [
            topic("devices/{device_id}/telemetry", record, status="devices/{device_id}/status"),
            topic("sensors/#", record, name="sensors"),
        ]
    )


def test_reexported_from_gateway_routing() -> None:
    assert ReExported is TopicRouter


def test_resolve_gives_one_key_per_device() -> None:
    router = make_router()
    a1 = router.resolve("devices/a/telemetry")
    a2 = router.resolve("devices/a/status")
    b = router.resolve("devices/b/telemetry")
    assert a1 is not None and a2 is not None and b is not None
    assert a1.kwargs == {"device_id": "a"}
    assert a1.key == a2.key != b.key
    assert a2.is_status and not a1.is_status
    s1, s2 = router.resolve("sensors/x"), router.resolve("sensors/y/z")
    assert s1 is not None and s2 is not None and s1.key == s2.key
    assert router.resolve("other") is None
    assert router.filters == ["devices/+/telemetry", "devices/+/status", "sensors/#"]


async def test_call_puts_kwargs_in_scope() -> None:
    seen: list[dict[str, Any]] = []
    await make_router()({"type": "mqtt", "topic": "devices/7/telemetry", "seen": seen}, None, None)
    assert seen == [
        {
            "args": (),
            "kwargs": {"device_id": "7"},
            "pattern": "devices/{device_id}/telemetry",
            "name": None,
        }
    ]


async def test_no_route_is_a_clear_error() -> None:
    with pytest.raises(NoRouteFound, match="no topic route matches 'nope'"):
        await make_router()({"type": "mqtt", "topic": "nope"}, None, None)


def test_bad_routes() -> None:
    with pytest.raises(ConfigurationError, match="same names"):
        topic("d/{id}/t", record, status="d/{other}/status")
    with pytest.raises(ConfigurationError, match="made with topic"):
        TopicRouter([("d/+", record)])  # type: ignore[list-item]


def test_found_inside_protocol_type_router_and_middleware() -> None:
    router = make_router()

    class Middleware:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

    assert find_topic_router(ProtocolTypeRouter({"mqtt": Middleware(router)})) is router
    assert find_topic_router(ProtocolTypeRouter({"http": record})) is None
