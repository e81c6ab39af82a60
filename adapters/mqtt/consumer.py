"""Deprecated: moved to :mod:`gateway.mqtt.consumer` (old path kept until 0.2, with a warning)."""

from __future__ import annotations

from gateway.deprecation import moved

__getattr__ = moved(
    "adapters.mqtt.consumer",
    "gateway.mqtt.consumer",
    [
        "AsyncMqttConsumer",
    ],
)
