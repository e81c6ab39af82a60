"""The MQTT adapter: every IoT device a scope, at-least-once delivery (docs/mqtt.md).

``MqttAdapter`` is imported lazily: gateway.topic_routing uses the pure ``topics`` module of
this package, and the adapter itself imports gateway.topic_routing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MqttAdapter"]


def __getattr__(name: str) -> Any:
    if name == "MqttAdapter":
        from adapters.mqtt.adapter import MqttAdapter

        return MqttAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
