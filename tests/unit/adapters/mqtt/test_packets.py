"""adapters.mqtt.packets: bytes in, values out (MQTT 3.1.1 / 5 examples, then properties)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.mqtt.packets import (
    PUBACK,
    PUBCOMP,
    PUBREC,
    Publish,
    ack_packet,
    decode_publish,
    decode_pubrel,
    decode_remaining_length,
    strip_empty_properties,
)


def remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def publish_body(
    topic: bytes, payload: bytes, qos: int, mid: int, properties: bytes | None
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    if properties is not None:  # MQTT 5: Property Length (one byte here) and the properties
        body += bytes((len(properties),)) + properties
    return body + payload


def publish_packet(
    topic: bytes,
    payload: bytes,
    qos: int = 0,
    *,
    retain: bool = False,
    dup: bool = False,
    mid: int = 0,
    properties: bytes | None = None,
) -> bytes:
    header = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    body = publish_body(topic, payload, qos, mid, properties)
    return bytes((header,)) + remaining_length(len(body)) + body


# MQTT 2.2.3, Table 2.4: the Remaining Length encoding boundaries.
@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\x80\x01", 128),
        (b"\xff\x7f", 16_383),
        (b"\x80\x80\x01", 16_384),
        (b"\xff\xff\x7f", 2_097_151),
        (b"\x80\x80\x80\x01", 2_097_152),
        (b"\xff\xff\xff\x7f", 268_435_455),
    ],
)
def test_remaining_length_examples(encoded: bytes, value: int) -> None:
    assert decode_remaining_length(b"\x30" + encoded + b"rest", 1) == (value, 1 + len(encoded))


def test_remaining_length_incomplete_or_too_long_is_none() -> None:
    assert decode_remaining_length(b"\x30\x80\x80", 1) is None
    assert decode_remaining_length(b"\x30\x80\x80\x80\x80\x01", 1) is None  # five bytes


@given(st.integers(min_value=0, max_value=268_435_455))
def test_remaining_length_round_trip(value: int) -> None:
    encoded = remaining_length(value)
    assert decode_remaining_length(encoded, 0) == (value, len(encoded))


def test_a_qos1_publish() -> None:
    packet = b"\x32\x0c\x00\x03a/b\x00\x07hello"
    assert decode_publish(packet, 0, v5=False) == Publish(b"a/b", b"hello", 1, False, False, 7, 14)


def test_a_v5_publish_without_properties_and_the_next_packet_after_it() -> None:
    packet = publish_packet(b"t", b"x", 1, mid=9, properties=b"", retain=True, dup=True)
    buf = b"\xd0\x00" + packet + b"\xc0\x00"  # PINGRESP, PUBLISH, PINGREQ
    assert decode_publish(buf, 2, v5=True) == Publish(b"t", b"x", 1, True, True, 9, len(buf) - 2)


@pytest.mark.parametrize(
    ("packet", "v5", "why"),
    [
        (publish_packet(b"t", b"x", 2, mid=1), False, "QoS 2: paho keeps state for PUBREL"),
        (publish_packet(b"t", b"x", 1, mid=1, properties=b"\x01\x01"), True, "has properties"),
        (publish_packet(b"", b"x", 0, properties=b"\x23\x00\x01"), True, "topic alias"),
        (b"\x36\x05\x00\x01t\x00\x01", False, "QoS 3 is malformed"),
        (b"\x20\x02\x00\x00", False, "a CONNACK"),
        (b"\x30\x01\x00", False, "shorter than its topic length"),
        (b"\x32\x04\x00\x01t\x00", False, "packet id cut short"),
        (b"\x30\x04\x00\x05abc", False, "topic runs past the packet"),
        (b"", False, "nothing"),
    ],
)
def test_what_is_left_to_paho(packet: bytes, v5: bool, why: str) -> None:
    assert decode_publish(packet, 0, v5) is None, why


publishes = st.builds(
    dict,
    topic=st.binary(min_size=1, max_size=40),
    payload=st.binary(max_size=300),
    qos=st.sampled_from([0, 1]),
    retain=st.booleans(),
    dup=st.booleans(),
    mid=st.integers(min_value=1, max_value=65535),
    v5=st.booleans(),
)


@given(publishes, st.binary(max_size=20))
def test_decode_publish_round_trip(fields: dict, after: bytes) -> None:
    v5 = fields.pop("v5")
    if not fields["qos"]:
        fields["mid"] = 0
    packet = publish_packet(**fields, properties=b"" if v5 else None)
    decoded = decode_publish(packet + after, 0, v5)
    assert decoded == Publish(end=len(packet), **fields)


@given(publishes)
def test_a_cut_publish_is_never_decoded(fields: dict) -> None:
    v5 = fields.pop("v5")
    packet = publish_packet(**fields, properties=b"" if v5 else None)
    for cut in range(len(packet)):
        assert decode_publish(packet[:cut], 0, v5) is None


@given(st.binary(max_size=64), st.booleans())
def test_any_bytes_decode_or_give_none(data: bytes, v5: bool) -> None:
    found = decode_publish(data, 0, v5)
    if found is not None:
        assert found.end <= len(data)
        assert found.qos in (0, 1)


@given(publishes)
def test_stripping_empty_properties_gives_the_311_body(fields: dict) -> None:
    fields.pop("v5")
    args = (fields["topic"], fields["payload"], fields["qos"], fields["mid"])
    body = bytearray(publish_body(*args, properties=b""))
    assert strip_empty_properties(body, fields["qos"]) is True
    assert bytes(body) == publish_body(*args, properties=None)


def test_properties_or_a_topic_alias_are_not_stripped() -> None:
    with_properties = bytearray(publish_body(b"t", b"x", 1, 5, properties=b"\x01\x01"))
    alias = bytearray(publish_body(b"", b"x", 0, 0, properties=b"\x23\x00\x01"))
    for body in (with_properties, alias, bytearray(b"\x00")):
        before = bytes(body)
        assert strip_empty_properties(body, 1) is False
        assert bytes(body) == before


def test_pubrel_packet_id() -> None:
    assert decode_pubrel(b"\x01\x02") == 258
    assert decode_pubrel(b"\x00\x05\x92\x00") == 5  # MQTT 5: reason code and properties
    assert decode_pubrel(b"\x00") is None


def test_acks() -> None:
    assert ack_packet(PUBACK, 1) == b"\x40\x02\x00\x01"
    assert ack_packet(PUBREC, 0x1234) == b"\x50\x02\x12\x34"
    assert ack_packet(PUBCOMP, 65535) == b"\x70\x02\xff\xff"
    with pytest.raises(ValueError, match="not type 6"):
        ack_packet(6, 1)
