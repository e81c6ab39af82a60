"""The MQTT packets the adapter reads and writes itself (pure: bytes in, values out).

paho decodes everything by default; these functions cover the per-message path, where paho's
general decoder is slow (adapters/mqtt/paho_compat.py uses them), and the acknowledgements the
driver writes itself. References are to MQTT 3.1.1 and MQTT 5 (same numbering where both have
the rule). Nothing here raises on bad input from the network: a packet these functions do not
fully understand is reported as None and left to paho, which closes the connection on a
malformed one.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "PUBACK",
    "PUBCOMP",
    "PUBREC",
    "Publish",
    "ack_packet",
    "decode_publish",
    "decode_pubrel",
    "decode_remaining_length",
    "strip_empty_properties",
]

#: Control packet types (MQTT 2.2.1) of the acknowledgements written here.
PUBACK = 4
PUBREC = 5
PUBCOMP = 7

_PUBLISH = 3


class Publish(NamedTuple):
    """A decoded PUBLISH (MQTT 3.3)."""

    topic: bytes
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    #: Packet identifier (0 for QoS 0, which has none).
    mid: int
    #: Offset just past the packet in the buffer it was decoded from.
    end: int


def decode_remaining_length(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """Decode the Remaining Length that starts at ``buf[pos]`` (MQTT 2.2.3).

    "The Remaining Length is encoded using a variable length encoding scheme which uses a
    single byte for values up to 127": 7 bits per byte, low bits first, at most 4 bytes.

    Returns:
        ``(length, offset of the first byte after it)``, or None when the buffer ends first
        or the encoding is longer than 4 bytes (malformed).
    """
    index, length, shift = pos, 0, 0
    end = len(buf)
    while True:
        if index >= end or shift > 21:
            return None
        byte = buf[index]
        index += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return length, index


def decode_publish(buf: bytes | bytearray, pos: int, v5: bool) -> Publish | None:
    """Decode the PUBLISH at ``buf[pos]`` when it is complete and simple, else None.

    Simple means QoS 0 or 1, a non-empty topic (an empty one is an MQTT 5 topic alias) and,
    for MQTT 5, no properties. None also for any other packet type, a packet the buffer holds
    only part of, and a packet too short for its own fields: the caller leaves those to the
    general decoder.

    Args:
        buf: bytes read from the connection.
        pos: offset of the packet's first byte (the fixed header) in ``buf``.
        v5: the connection speaks MQTT 5 (a property length follows the packet id).
    """
    end = len(buf)
    if pos >= end:
        return None
    header = buf[pos]
    qos = (header >> 1) & 3
    if header >> 4 != _PUBLISH or qos >= 2:
        return None  # QoS 2 needs paho's PUBREL state; 3 is malformed (MQTT 3.3.1.2)
    decoded = decode_remaining_length(buf, pos + 1)
    if decoded is None:
        return None
    length, index = decoded
    stop = index + length
    if stop > end or length < 2:
        return None
    topic_end = index + 2 + ((buf[index] << 8) | buf[index + 1])
    if topic_end == index + 2:
        return None  # empty topic: a topic alias (MQTT 5 3.3.2.3.4)
    cursor = topic_end
    mid = 0
    if qos:
        if cursor + 2 > stop:
            return None
        mid = (buf[cursor] << 8) | buf[cursor + 1]
        cursor += 2
    if v5:
        # MQTT 5 3.3.2.3.1: the Property Length; 0 means no properties.
        if cursor >= stop or buf[cursor] != 0:
            return None
        cursor += 1
    if cursor > stop:
        return None
    return Publish(
        topic=bytes(buf[index + 2 : topic_end]),
        payload=bytes(buf[cursor:stop]),
        qos=qos,
        retain=bool(header & 0x01),
        dup=bool(header & 0x08),
        mid=mid,
        end=stop,
    )


def strip_empty_properties(body: bytearray, qos: int) -> bool:
    """Remove the zero Property Length from an MQTT 5 PUBLISH body, in place.

    The body (variable header and payload, without the fixed header) is then byte for byte
    the MQTT 3.1.1 encoding of the same message, which decodes much faster.

    Args:
        body: the PUBLISH after its fixed header.
        qos: the QoS from the fixed header (a packet id follows the topic when above 0).

    Returns:
        True when the byte was removed; False when the message has properties, a topic
        alias (empty topic) or is too short, and the body is unchanged.
    """
    if len(body) <= 2:
        return False
    topic_length = (body[0] << 8) | body[1]
    offset = 2 + topic_length + (2 if qos else 0)
    if topic_length and offset < len(body) and body[offset] == 0:
        del body[offset]
        return True
    return False


def decode_pubrel(body: bytes | bytearray) -> int | None:
    """The packet identifier of a PUBREL body, or None when it is too short (malformed).

    MQTT 3.6.2 / MQTT 5 3.6.2: the packet id, then (MQTT 5) an optional reason code and
    properties, which say nothing a receiver must act on.
    """
    if len(body) < 2:
        return None
    return (body[0] << 8) | body[1]


def ack_packet(packet_type: int, mid: int) -> bytes:
    """PUBACK, PUBREC or PUBCOMP for packet id ``mid``, reason Success.

    MQTT 5 3.4.2.1 / 3.5.2.1 / 3.7.2.1: with reason code Success and no properties the
    reason code may be left out, which makes the packet identical to MQTT 3.1.1's.
    """
    # PUBREL would need the flags 0b0010 (MQTT 3.6.1); it is never written here.
    if packet_type not in (PUBACK, PUBREC, PUBCOMP):
        raise ValueError(f"ack_packet writes PUBACK, PUBREC or PUBCOMP, not type {packet_type}")
    return bytes((packet_type << 4, 2)) + mid.to_bytes(2, "big")
