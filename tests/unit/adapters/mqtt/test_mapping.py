"""MQTT <-> ASGI event mapping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.mqtt.mapping import (
    build_scope,
    decode_text,
    message_event,
    parse_publish,
    parse_subscription,
    properties_dict,
    publish_result_event,
)
from gateway.exceptions import LocalProtocolError


def test_message_event_keeps_bytes_and_adds_text() -> None:
    event = message_event("d/1/t", b"21.5", 1, False, True, {"content_type": "text/plain"})
    assert event == {
        "type": "mqtt.message",
        "topic": "d/1/t",
        "payload": b"21.5",
        "text": "21.5",
        "qos": 1,
        "retain": False,
        "dup": True,
        "properties": {"content_type": "text/plain"},
    }


def test_binary_payload_has_no_text() -> None:
    event = message_event("d/1/t", b"\xff\x00\xfe", 0, True, False)
    assert event["payload"] == b"\xff\x00\xfe"
    assert event["text"] is None
    assert event["properties"] == {}


@given(st.binary(max_size=64))
def test_text_is_the_payload_when_it_decodes(payload: bytes) -> None:
    text = decode_text(payload)
    assert text is None or text.encode("utf-8") == payload


def test_properties_use_snake_case() -> None:
    assert properties_dict([("Content Type", "a"), ("User Property", [("k", "v")])]) == {
        "content_type": "a",
        "user_property": [("k", "v")],
    }


def test_scope() -> None:
    scope = build_scope("devices/1/t", "gw-0", "127.0.0.1:1883", "5")
    assert scope["type"] == "mqtt"
    assert scope["topic"] == "devices/1/t"
    assert scope["mqtt_version"] == "5"
    assert scope["asgi"]["version"] == "3.0"


def test_publish_text_payload_and_defaults() -> None:
    request = parse_publish({"type": "mqtt.publish", "topic": "a/b", "text": "héllo", "id": 7})
    assert (request.topic, request.payload, request.qos, request.retain) == (
        "a/b",
        "héllo".encode(),
        0,
        False,
    )
    result = publish_result_event(request, 3, None)
    assert result == {
        "type": "mqtt.publish.result",
        "id": 7,
        "topic": "a/b",
        "mid": 3,
        "ok": True,
        "error": None,
    }
    assert parse_publish({"topic": "a", "payload": bytearray(b"x"), "qos": 2}).payload == b"x"
    assert parse_publish({"topic": "a"}).payload == b""


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"topic": "a/+/b"}, "wildcards"),
        ({"topic": "a/#"}, "wildcards"),
        ({"topic": ""}, "must not be empty"),
        ({}, "must be a str"),
        ({"topic": "a", "qos": 3}, "qos must be 0, 1 or 2"),
        ({"topic": "a", "qos": True}, "qos must be 0, 1 or 2"),
        ({"topic": "a", "retain": "yes"}, "retain must be"),
        ({"topic": "a", "payload": "str"}, "payload must be bytes"),
        ({"topic": "a", "payload": b"x", "text": "x"}, "not both"),
        ({"topic": "a", "text": 5}, "text must be a str"),
        ({"topic": "a", "properties": [1]}, "properties must be a dict"),
    ],
)
def test_invalid_publish_gets_a_clear_error(message: dict[str, object], error: str) -> None:
    with pytest.raises(LocalProtocolError, match=error):
        parse_publish({"type": "mqtt.publish", **message})


def test_publish_over_the_limit() -> None:
    with pytest.raises(LocalProtocolError, match="over the limit"):
        parse_publish({"topic": "a", "payload": b"12345"}, max_payload=4)


def test_subscription_messages() -> None:
    assert parse_subscription({"type": "mqtt.subscribe", "topic": "a/+", "qos": 1}) == ("a/+", 1)
    with pytest.raises(LocalProtocolError, match=r"mqtt.subscribe: invalid topic filter"):
        parse_subscription({"type": "mqtt.subscribe", "topic": "a/#/b"})
