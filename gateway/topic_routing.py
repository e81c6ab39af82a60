"""Deprecated: moved to :mod:`gateway.mqtt.routing` (old path kept until 0.2, with a warning)."""

from __future__ import annotations

from gateway.deprecation import moved

__getattr__ = moved(
    "gateway.topic_routing",
    "gateway.mqtt.routing",
    [
        "TopicMatch",
        "TopicRoute",
        "TopicRouter",
        "find_topic_router",
        "topic",
    ],
)
