"""The events of the ``mqtt`` scope type, as TypedDicts (docs/specs/mqtt.md).

Protocol-neutral in the sense that matters here: consumers and tests type against them without
importing the MQTT adapter, which builds them (adapters/mqtt/mapping.py).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = ["MqttDisconnectEvent", "MqttMessageEvent", "MqttPublishResultEvent"]


class MqttMessageEvent(TypedDict):
    """``mqtt.message``: a message the broker delivered for this scope."""

    type: Literal["mqtt.message"]
    topic: str
    payload: bytes
    text: str | None
    qos: int
    retain: bool
    dup: bool
    properties: dict[str, Any]


class MqttDisconnectEvent(TypedDict):
    """``mqtt.disconnect``: the scope ends ("offline", "idle", "shutdown")."""

    type: Literal["mqtt.disconnect"]
    reason: str


class MqttPublishResultEvent(TypedDict):
    """``mqtt.publish.result``: the outcome of the scope's ``mqtt.publish``."""

    type: Literal["mqtt.publish.result"]
    id: Any
    topic: str
    mid: int | None
    ok: bool
    error: str | None
