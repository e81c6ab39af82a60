"""MQTT messages <-> ASGI events of the ``mqtt`` scope type (pure; see docs/specs/mqtt.md).

In: :func:`message_event`, :func:`connect_event`, :func:`disconnect_event`. Out: the
application's ``mqtt.publish`` / ``mqtt.subscribe`` / ``mqtt.unsubscribe`` messages are checked
and turned into requests by :func:`parse_publish`, :func:`parse_subscription`; the answer to a
publish is :func:`publish_result_event`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.deprecation import moved
from gateway.exceptions import LocalProtocolError
from gateway.mqtt import events
from gateway.mqtt.topics import validate_topic_filter, validate_topic_name

SPEC_VERSION = "1.0"

# The event TypedDicts moved to gateway.mqtt.events (consumers use them, not only adapters).
__getattr__ = moved(
    __name__,
    "gateway.mqtt.events",
    ["MqttDisconnectEvent", "MqttMessageEvent", "MqttPublishResultEvent"],
)


@dataclass(frozen=True)
class PublishRequest:
    """A checked ``mqtt.publish`` message."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict[str, Any]
    id: Any = None


def decode_text(payload: bytes) -> str | None:
    """The payload as text when it is valid UTF-8, else None (it stays available as bytes)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def property_key(name: str) -> str:
    """An MQTT 5 property name as an event key: "Content Type" -> "content_type"."""
    return name.strip().lower().replace(" ", "_")


def properties_dict(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """MQTT 5 properties as a dict with snake_case keys (user properties as a list of pairs)."""
    return {property_key(name): value for name, value in items}


def message_event(
    topic: str,
    payload: bytes,
    qos: int,
    retain: bool,
    dup: bool,
    properties: dict[str, Any] | None = None,
) -> events.MqttMessageEvent:
    """Build the ``mqtt.message`` event for a received PUBLISH."""
    return {
        "type": "mqtt.message",
        "topic": topic,
        "payload": payload,
        "text": decode_text(payload),
        "qos": qos,
        "retain": retain,
        "dup": dup,
        "properties": properties or {},
    }


def connect_event(topic: str, client_id: str, session_present: bool) -> dict[str, Any]:
    """Build the ``mqtt.connect`` event: the first event of every scope."""
    return {
        "type": "mqtt.connect",
        "topic": topic,
        "client_id": client_id,
        "session_present": session_present,
    }


def disconnect_event(reason: str) -> events.MqttDisconnectEvent:
    """Build the ``mqtt.disconnect`` event: the last event of every scope."""
    return {"type": "mqtt.disconnect", "reason": reason}


def publish_result_event(request: PublishRequest, mid: int | None, error: str | None) -> Any:
    """Build the ``mqtt.publish.result`` event answering a publish."""
    result: events.MqttPublishResultEvent = {
        "type": "mqtt.publish.result",
        "id": request.id,
        "topic": request.topic,
        "mid": mid,
        "ok": error is None,
        "error": error,
    }
    return result


def build_scope(
    first_topic: str,
    client_id: str,
    broker: str,
    protocol_version: str,
) -> dict[str, Any]:
    """Build the ``mqtt`` scope for a device, from the topic of its first message."""
    return {
        "type": "mqtt",
        "asgi": {"version": "3.0", "spec_version": SPEC_VERSION},
        "spec_version": SPEC_VERSION,
        "mqtt_version": protocol_version,
        "topic": first_topic,
        "client_id": client_id,
        "broker": broker,
    }


def _qos(message: Mapping[str, Any], kind: str) -> int:
    qos = message.get("qos", 0)
    if isinstance(qos, bool) or qos not in (0, 1, 2):
        raise LocalProtocolError(f"{kind}: qos must be 0, 1 or 2, got {qos!r}")
    return int(qos)


def parse_publish(message: Mapping[str, Any], max_payload: int | None = None) -> PublishRequest:
    """Check an application's ``mqtt.publish`` message.

    The payload comes from ``"payload"`` (bytes) or ``"text"`` (str, sent as UTF-8); neither
    means an empty payload.

    Raises:
        LocalProtocolError: invalid topic, qos, retain, payload or properties; the message
            says which key is wrong and what it should be.
    """
    topic = validate_topic_name(message.get("topic"))
    payload = message.get("payload")
    text = message.get("text")
    if payload is not None and text is not None:
        raise LocalProtocolError(
            "mqtt.publish: give either payload (bytes) or text (str), not both"
        )
    if text is not None:
        if not isinstance(text, str):
            raise LocalProtocolError(f"mqtt.publish: text must be a str, got {type(text).__name__}")
        data = text.encode("utf-8")
    elif payload is None:
        data = b""
    elif isinstance(payload, bytes | bytearray | memoryview):
        data = bytes(payload)
    else:
        raise LocalProtocolError(
            f"mqtt.publish: payload must be bytes (or use text for a str), "
            f"got {type(payload).__name__}"
        )
    if max_payload is not None and len(data) > max_payload:
        raise LocalProtocolError(
            f"mqtt.publish: payload of {len(data)} bytes is over the limit of {max_payload}"
        )
    retain = message.get("retain", False)
    if not isinstance(retain, bool):
        raise LocalProtocolError(f"mqtt.publish: retain must be True or False, got {retain!r}")
    properties = message.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise LocalProtocolError("mqtt.publish: properties must be a dict")
    return PublishRequest(
        topic=topic,
        payload=data,
        qos=_qos(message, "mqtt.publish"),
        retain=retain,
        properties=dict(properties),
        id=message.get("id"),
    )


def parse_subscription(message: Mapping[str, Any]) -> tuple[str, int]:
    """Check an ``mqtt.subscribe`` / ``mqtt.unsubscribe`` message: (topic filter, qos).

    Raises:
        LocalProtocolError: the topic filter or qos is invalid.
    """
    kind = str(message.get("type"))
    try:
        topic_filter = validate_topic_filter(message.get("topic"))
    except LocalProtocolError as exc:
        raise LocalProtocolError(f"{kind}: {exc}") from None
    return topic_filter, _qos(message, kind)
