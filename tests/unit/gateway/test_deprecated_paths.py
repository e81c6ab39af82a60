"""Modules that moved keep their old import path for one release, with a DeprecationWarning."""

from __future__ import annotations

import importlib

import pytest

MOVED = [
    ("gateway.topic_routing", "gateway.mqtt.routing", "TopicRouter"),
    ("gateway.topic_routing", "gateway.mqtt.routing", "topic"),
    ("gateway.topic_routing", "gateway.mqtt.routing", "find_topic_router"),
    ("adapters.mqtt.topics", "gateway.mqtt.topics", "parse_pattern"),
    ("adapters.mqtt.topics", "gateway.mqtt.topics", "validate_topic_name"),
    ("adapters.mqtt.consumer", "gateway.mqtt.consumer", "AsyncMqttConsumer"),
    ("adapters.mqtt.mapping", "gateway.mqtt.events", "MqttMessageEvent"),
    ("adapters.web.status", "gateway.status", "RateTracker"),
    ("adapters.web.status", "gateway.status", "status_snapshot"),
]


@pytest.mark.parametrize(("old", "new", "name"), MOVED)
def test_old_path_warns_and_gives_the_same_object(old: str, new: str, name: str) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {new}\.{name}"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)


def test_from_import_of_an_old_path_warns() -> None:
    with pytest.warns(DeprecationWarning, match="import it from gateway.mqtt.routing"):
        from gateway.topic_routing import TopicRouter
    from gateway.mqtt.routing import TopicRouter as current

    assert TopicRouter is current


def test_unknown_names_still_raise_attribute_error() -> None:
    module = importlib.import_module("adapters.web.status")
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        module.nothing  # noqa: B018


def test_the_routers_module_exports_the_topic_router_without_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from gateway.routing import TopicRouter, topic
    from gateway.mqtt.routing import TopicRouter as current
    from gateway.mqtt.routing import topic as current_topic

    assert (TopicRouter, topic) == (current, current_topic)
