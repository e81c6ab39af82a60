"""The driver's pure helpers and FastClient's decoding shortcut, checked against paho."""

from __future__ import annotations

import struct
from typing import Any

import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.mqtt.driver import FastClient, properties_of, to_properties


def publish_packet(topic: bytes, qos: int, mid: int, props: bytes, payload: bytes) -> bytes:
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    return body + props + payload


def decode(client_class: type[paho.Client], protocol: int, header: int, body: bytes) -> Any:
    client = client_class(CallbackAPIVersion.VERSION2, protocol=protocol, manual_ack=True)
    received: list[paho.MQTTMessage] = []
    client.on_message = lambda _client, _userdata, message: received.append(message)
    client._in_packet = {"command": header, "packet": bytearray(body)}
    client._handle_publish()
    if header & 0x06 == 4:  # QoS 2: delivered on PUBREL
        message = client._in_messages[next(iter(client._in_messages))]
        return message, client._protocol
    return received[0], client._protocol


@given(
    topic=st.binary(min_size=1, max_size=20)
    .filter(lambda t: b"\x00" not in t)
    .map(lambda t: t.decode("latin-1").encode()),
    qos=st.integers(0, 2),
    mid=st.integers(1, 65535),
    payload=st.binary(max_size=40),
    retain=st.booleans(),
    with_props=st.booleans(),
)
def test_fast_client_decodes_like_paho(
    topic: bytes, qos: int, mid: int, payload: bytes, retain: bool, with_props: bool
) -> None:
    props = b"\x00"
    if with_props:
        properties = Properties(PacketTypes.PUBLISH)
        properties.ContentType = "text/plain"
        props = properties.pack()
    header = 0x30 | (qos << 1) | int(retain)
    body = publish_packet(topic, qos, mid, props, payload)
    ours, protocol = decode(FastClient, paho.MQTTv5, header, body)
    theirs, _ = decode(paho.Client, paho.MQTTv5, header, body)
    assert protocol == paho.MQTTv5  # restored after the shortcut
    assert (ours.topic, ours.payload, ours.qos, ours.retain, ours.mid) == (
        theirs.topic,
        theirs.payload,
        theirs.qos,
        theirs.retain,
        theirs.mid,
    )
    assert properties_of(ours.properties) == properties_of(theirs.properties)


def test_properties_round_trip() -> None:
    properties = to_properties(
        PacketTypes.PUBLISH, {"content_type": "a/b", "user_property": [("k", "v")]}
    )
    assert properties_of(properties) == {"content_type": "a/b", "user_property": [("k", "v")]}
    assert to_properties(PacketTypes.PUBLISH, {}) is None
    assert properties_of(None) is None
    with pytest.raises(ValueError, match="unknown MQTT 5 property"):
        to_properties(PacketTypes.PUBLISH, {"colour": "red"})
