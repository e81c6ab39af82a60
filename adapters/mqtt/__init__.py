"""The MQTT adapter: every IoT device a scope, at-least-once delivery (docs/mqtt.md).

What applications use (TopicRouter, topic patterns, AsyncMqttConsumer, the event types) lives
in :mod:`gateway.mqtt`; this package is the broker connection and the dispatch to scopes.
"""

from __future__ import annotations

from adapters.mqtt.adapter import MqttAdapter

__all__ = ["MqttAdapter"]
