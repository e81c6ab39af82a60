"""The driver's pure helpers and FastClient's decoding shortcut, checked against paho."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.mqtt.config import parse_url
from adapters.mqtt.driver import MqttDriver
from adapters.mqtt.paho_compat import FastClient, properties_of, to_properties


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
    if header & 0x06 == 4 and client_class is paho.Client:  # paho: delivered on PUBREL
        message = client._in_messages[next(iter(client._in_messages))]
        return message, client._protocol
    # FastClient delivers QoS 2 at once, and neither keeps it nor answers it.
    assert not client._in_messages and not client._out_packet
    return received[0], client._protocol


@given(
    topic=st.binary(min_size=1, max_size=20)
    .filter(lambda t: b"\x00" not in t)
    .map(lambda t: t.decode("latin-1").encode()),
    qos=st.integers(0, 2),
    mid=st.integers(1, 65535),
    payload=st.binary(max_size=40),
    retain=st.booleans(),
    dup=st.booleans(),
    with_props=st.booleans(),
)
def test_fast_client_decodes_like_paho(
    topic: bytes, qos: int, mid: int, payload: bytes, retain: bool, dup: bool, with_props: bool
) -> None:
    props = b"\x00"
    if with_props:
        properties = Properties(PacketTypes.PUBLISH)
        properties.ContentType = "text/plain"
        props = properties.pack()
    header = 0x30 | (qos << 1) | int(retain) | (0x08 if dup and qos else 0)
    body = publish_packet(topic, qos, mid, props, payload)
    ours, protocol = decode(FastClient, paho.MQTTv5, header, body)
    theirs, _ = decode(paho.Client, paho.MQTTv5, header, body)
    assert protocol == paho.MQTTv5  # restored after the shortcut
    assert (ours.topic, ours.payload, ours.qos, ours.retain, ours.dup, ours.mid) == (
        theirs.topic,
        theirs.payload,
        theirs.qos,
        theirs.retain,
        theirs.dup,
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


def frame(header: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([header, len(body)]) + body


def test_buffered_reads_decode_every_packet_of_one_recv() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = FastClient(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5, manual_ack=True)
    received: list[tuple[str, bytes, int]] = []
    client.on_message = lambda _c, _u, m: received.append((m.topic, m.payload, m.mid))
    client._sock = ours
    try:
        packets = [
            frame(0x32, publish_packet(f"d/{n}/t".encode(), 1, n + 1, b"\x00", b"p%d" % n))
            for n in range(3)
        ]
        # The last packet arrives in two pieces: the rest waits for the next read.
        data = b"".join(packets)
        theirs.sendall(data[:-2])
        for _ in range(5):
            client.loop_read()
        assert received == [("d/0/t", b"p0", 1), ("d/1/t", b"p1", 2)]
        assert not client.buffered
        theirs.sendall(data[-2:])
        client.loop_read()
        assert received[-1] == ("d/2/t", b"p2", 3)
    finally:
        client._sock = None
        ours.close()
        theirs.close()


def test_write_batch_collects_instead_of_sending() -> None:
    ours, theirs = socket.socketpair()
    client = FastClient(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    client._sock = ours
    client.on_socket_register_write = lambda *args: None
    try:
        client._send_command_with_mid(0x40, 7, False)  # a PUBACK, queued by paho
        assert client.want_write()
        assert client.write_batch() == b"\x40\x02\x00\x07"
        assert not client.want_write()
        theirs.setblocking(False)
        with pytest.raises(BlockingIOError):
            theirs.recv(10)  # nothing was sent: the driver sends the batch itself
    finally:
        client._sock = None
        ours.close()
        theirs.close()


def read_all(client_class: type[paho.Client], protocol: int, data: bytes) -> list[Any]:
    """Feed ``data`` to a client through a socket pair; return what on_message saw."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = client_class(CallbackAPIVersion.VERSION2, protocol=protocol, manual_ack=True)
    seen: list[Any] = []
    client.on_message = lambda _c, _u, m: seen.append(
        (m.topic, m.payload, m.qos, m.retain, m.dup, m.mid, properties_of(m.properties))
    )
    client._sock = ours
    try:
        theirs.sendall(data)
        for _ in range(len(data) + 2):
            client.loop_read()
    finally:
        client._sock = None
        ours.close()
        theirs.close()
    return seen


packet_specs = st.lists(
    st.tuples(
        st.text(alphabet="ab/$é", min_size=1, max_size=8),
        st.integers(0, 1),
        st.integers(1, 65535),
        st.binary(max_size=300),
        st.integers(0, 15) | st.just(0),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.parametrize("protocol", [paho.MQTTv5, paho.MQTTv311])
@given(specs=packet_specs)
def test_fast_read_path_matches_paho(protocol: int, specs: list[Any]) -> None:
    data = b""
    for topic, qos, mid, payload, flags, with_props in specs:
        props = b""
        if protocol == paho.MQTTv5:
            props = b"\x00"
            if with_props:
                properties = Properties(PacketTypes.PUBLISH)
                properties.ContentType = "x"
                props = properties.pack()
        body = publish_packet(topic.encode(), qos, mid, props, payload)
        length, remaining = b"", len(body)
        while True:  # MQTT 2.2.3 variable-length encoding
            digit, remaining = remaining % 128, remaining // 128
            length += bytes([digit | (0x80 if remaining else 0)])
            if not remaining:
                break
        header = 0x30 | (flags & 0x09) | (qos << 1)
        data += bytes([header]) + length + body
    assert read_all(FastClient, protocol, data) == read_all(paho.Client, protocol, data)


class Wire:
    """A driver on one end of a socket pair; the test plays the broker on the other."""

    def __init__(self, protocol: str) -> None:
        config = parse_url(f"mqtt://127.0.0.1:1?client_id=t&protocol={protocol}")
        self.driver = MqttDriver(config, "t", ["d/#"])
        self.messages: list[tuple[str, bytes, int, bool, int]] = []
        self.released: list[int] = []
        self.driver.on_message = lambda topic, payload, qos, retain, dup, mid, props: (
            self.messages.append((topic, payload, qos, dup, mid))
        )
        self.driver.on_release = self.released.append
        self.ours, self.broker = socket.socketpair()
        self.ours.setblocking(False)
        self.broker.setblocking(False)
        client = self.driver.client
        client._sock = self.ours
        self.driver._on_socket_open(client, None, self.ours)
        self.driver.connected = True

    async def send(self, data: bytes) -> None:
        self.broker.sendall(data)
        for _ in range(50):
            await asyncio.sleep(0)

    async def written(self) -> bytes:
        for _ in range(50):
            await asyncio.sleep(0)
        try:
            return self.broker.recv(4096)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        self.driver._on_socket_close(self.driver.client, None, self.ours)
        self.driver.client._sock = None
        self.ours.close()
        self.broker.close()


@pytest.mark.parametrize(("protocol", "props"), [("5", b"\x00"), ("3.1.1", b"")])
async def test_qos2_delivered_on_publish_pubrec_after_ack_pubcomp_on_pubrel(
    protocol: str, props: bytes
) -> None:
    wire = Wire(protocol)
    try:
        await wire.send(frame(0x34, publish_packet(b"d/1/t", 2, 0x0102, props, b"hi")))
        assert wire.messages == [("d/1/t", b"hi", 2, False, 0x0102)]
        assert await wire.written() == b""  # no PUBREC before the handler returned
        await wire.send(frame(0x3C, publish_packet(b"d/1/t", 2, 0x0102, props, b"hi")))
        assert wire.messages[-1] == ("d/1/t", b"hi", 2, True, 0x0102)  # the dispatcher dedupes
        wire.driver.ack(0x0102, 2)
        assert await wire.written() == b"\x50\x02\x01\x02"  # PUBREC
        pubrel = b"\x01\x02\x00\x00" if protocol == "5" else b"\x01\x02"  # MQTT 5: reason, props
        await wire.send(frame(0x62, pubrel))
        assert await wire.written() == b"\x70\x02\x01\x02"  # PUBCOMP
        assert wire.released == [0x0102]
        wire.driver.ack(9, 1)
        assert await wire.written() == b"\x40\x02\x00\x09"  # PUBACK still for QoS 1
    finally:
        wire.close()


async def test_pubrel_for_an_unknown_id_is_answered() -> None:
    wire = Wire("5")
    try:
        await wire.send(frame(0x62, b"\x00\x2a"))
        assert await wire.written() == b"\x70\x02\x00\x2a"
        assert wire.released == [42]
    finally:
        wire.close()
