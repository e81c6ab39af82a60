"""Every paho-mqtt private the MQTT adapter touches, in one module, for one paho version.

paho-mqtt has no public hooks for what the adapter needs on its per-message path, so
:class:`FastClient` overrides private methods of ``paho.mqtt.client.Client`` and reads its
private state; :func:`properties_of` reads the attributes of paho's ``Properties``;
:func:`close_socket` calls paho's own "drop the connection now". All of it was written and
tested against paho-mqtt :data:`SUPPORTED_PAHO` exactly: importing this module with another
version installed raises :class:`~gateway.exceptions.UnsupportedDependency` naming both, and
tests/unit/gateway/test_versions.py fails when requirements.txt pins another version. To
upgrade paho: read the new version's ``_packet_read``, ``_handle_publish``,
``_handle_pubrel``, ``_sock_recv``, ``_sock_send``, ``_sock_close`` and ``_create_socket``
(and the ``_in_packet`` / ``_protocol`` / ``_userdata`` / ``_last_bytes_received``
attributes), run tests/unit/adapters/mqtt, then raise :data:`SUPPORTED_PAHO` with the pin.

Private names used: ``Client._create_socket``, ``_sock_recv``, ``_sock_send``, ``_sock_close``,
``_packet_read``, ``_handle_publish``, ``_handle_pubrel``, ``_in_packet``, ``_protocol``,
``_userdata``, ``_last_bytes_received``, ``_sock``; ``paho.mqtt.client.time_func``;
``paho.mqtt._packet.decode_publish``; the instance attributes of ``Properties``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.mqtt.mapping import property_key
from adapters.mqtt.packets import decode_publish, decode_pubrel, strip_empty_properties
from gateway.versions import require_version

__all__ = ["SUPPORTED_PAHO", "FastClient", "close_socket", "properties_of", "to_properties"]

#: The one paho-mqtt version the overrides below were checked against.
SUPPORTED_PAHO = "2.2.0"
require_version("paho-mqtt", SUPPORTED_PAHO, module=__name__)

logger = logging.getLogger(__name__)

#: Bytes asked of the socket per read system call.
READ_BUFFER = 65536

#: paho's Properties attribute names ("ContentType") to our event keys ("content_type").
_PROPERTY_KEYS = {
    name.replace(" ", ""): property_key(name) for name in Properties(PacketTypes.PUBLISH).names
}
_KEY_TO_ATTRIBUTE = {key: attribute for attribute, key in _PROPERTY_KEYS.items()}


def properties_of(properties: Properties | None) -> dict[str, Any] | None:
    """paho Properties as a dict with snake_case keys, or None when there are none."""
    if properties is None:
        return None
    present = vars(properties)
    found = {
        _PROPERTY_KEYS[name]: value for name, value in present.items() if name in _PROPERTY_KEYS
    }
    return found or None


def to_properties(packet_type: int, values: dict[str, Any]) -> Properties | None:
    """Our snake_case dict as paho Properties (MQTT 5 only).

    Raises:
        ValueError: an unknown property name or a value of the wrong type.
    """
    if not values:
        return None
    properties = Properties(packet_type)
    for key, value in values.items():
        attribute = _KEY_TO_ATTRIBUTE.get(key)
        if attribute is None:
            raise ValueError(f"unknown MQTT 5 property {key!r}")
        setattr(properties, attribute, value)
    return properties


class FastClient(paho.Client):
    """paho's Client with one shortcut for MQTT 5 PUBLISH packets that carry no properties.

    paho 2.2 builds a ``Properties`` object for every MQTT 5 PUBLISH, which costs about 60 µs
    (five times the rest of the decoding). Devices rarely send properties, so when the
    property length is zero we drop that byte and let paho decode the packet the MQTT 3.1.1
    way, which is otherwise identical (``message.properties`` is then None). This touches
    paho's private ``_in_packet`` and ``_protocol`` (hence :data:`SUPPORTED_PAHO`), and
    tests/unit/adapters/mqtt/test_driver.py checks the decoding against paho's own.

    More shortcuts for the per-message path: messages go straight to ``on_message`` (the
    adapter never uses ``message_callback_add``, so paho's topic matcher has nothing to find);
    reads come from a 64 KiB buffer (paho asks the socket for 1 byte, then the length bytes,
    then the body: three system calls per packet otherwise), see :attr:`buffered`; a whole
    QoS 0/1 PUBLISH without properties found in that buffer is decoded in one pass
    (:meth:`_take_publish`), everything else by paho; and :meth:`write_batch` collects
    everything one ``loop_write()`` sends so that the driver sends it with one system call
    instead of one per packet. Hypothesis tests compare the results with paho's own.

    QoS 2, received: paho 2.2 sends PUBREC as soon as a QoS 2 PUBLISH arrives (even with
    ``manual_ack``) and hands the message over only on PUBREL, so a crash in between loses it:
    the broker, holding a PUBREC, re-sends only PUBREL. Here a QoS 2 PUBLISH goes to
    ``on_message`` on arrival like QoS 0/1, with no PUBREC and nothing kept in paho's
    ``_in_messages``: the caller sends PUBREC once it has handled the message (MQTT 4.3.3,
    "Method B"), and a PUBREL goes to :attr:`on_pubrel`, which must answer PUBCOMP.
    """

    #: Called with the packet id of every PUBREL received; must send PUBCOMP.
    on_pubrel: Callable[[int], None] | None = None
    _opened: Any = None
    _coalesced: bytearray | None = None
    _rbuf: bytes = b""
    _rpos: int = 0

    def open_socket(self) -> Any:
        """Open the connection as ``reconnect()`` would: name lookup, TCP connect and TLS
        handshake (with paho's host name check). Blocks: call it in a worker thread, then
        :meth:`reconnect_on`.

        Raises:
            OSError: the broker cannot be reached or the TLS handshake failed.
        """
        return self._create_socket()

    def reconnect_on(self, sock: Any) -> MQTTErrorCode:
        """``reconnect()`` over a socket from :meth:`open_socket` (does not block)."""
        self._opened = sock
        try:
            return self.reconnect()
        finally:
            if self._opened is not None:  # reconnect() failed before taking it
                self._opened = None
                sock.close()

    def _create_socket(self) -> Any:
        sock, self._opened = self._opened, None
        return sock if sock is not None else super()._create_socket()

    @property
    def buffered(self) -> bool:
        """True while bytes read from the socket wait in the buffer: call ``loop_read()``."""
        return self._rpos < len(self._rbuf)

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(READ_BUFFER)
            if not data:
                return data  # EOF
            self._rbuf, self._rpos = data, 0
        start = self._rpos
        self._rpos = start + bufsize
        return self._rbuf[start : start + bufsize]

    def _reset_read_buffer(self) -> None:
        self._rbuf, self._rpos = b"", 0

    def _packet_read(self) -> MQTTErrorCode:
        # Between packets, a whole QoS 0/1 PUBLISH without properties may already sit in the
        # read buffer: decode it in one pass. Anything else goes through paho, whose partial
        # read state (_in_packet) is only used when it is between packets too.
        if self._in_packet["command"] == 0 and self._rpos < len(self._rbuf):
            message = self._take_publish()
            if message is not None:
                self._last_bytes_received = paho.time_func()
                self._handle_on_message(message)
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_read()

    def _take_publish(self) -> paho.MQTTMessage | None:
        """Decode the PUBLISH at the read position if it is complete and simple, else None."""
        found = decode_publish(self._rbuf, self._rpos, self._protocol == paho.MQTTv5)
        if found is None:
            return None
        message = paho.MQTTMessage(mid=found.mid, topic=found.topic)
        message.dup = found.dup
        message.qos = found.qos
        message.retain = found.retain
        message.payload = found.payload
        message.timestamp = paho.time_func()
        self._rpos = found.end
        return message

    def write_batch(self) -> bytes:
        """Run ``loop_write()`` and return the bytes paho wrote, unsent: send them yourself."""
        self._coalesced = bytearray()
        try:
            self.loop_write()
        finally:
            data, self._coalesced = self._coalesced, None
        return bytes(data)

    def _sock_send(self, buf: bytes | bytearray) -> int:
        if self._coalesced is not None:
            self._coalesced += buf
            return len(buf)
        return super()._sock_send(buf)

    def _sock_close(self) -> None:
        # paho closes the socket right after writing DISCONNECT: send what was collected first.
        if self._coalesced and self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.send(self._coalesced)
            self._coalesced.clear()
        self._reset_read_buffer()
        super()._sock_close()

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        on_message = self.on_message
        if on_message is not None:
            try:
                on_message(self, self._userdata, message)
            except Exception:
                logger.exception("on_message raised for a message on %r", message.topic)

    def _handle_publish(self) -> MQTTErrorCode:
        if self._protocol == paho.MQTTv5:
            qos = (self._in_packet["command"] & 0x06) >> 1
            if strip_empty_properties(self._in_packet["packet"], qos):
                self._protocol = paho.MQTTv311
                try:
                    return self._handle_publish_as_read()
                finally:
                    self._protocol = paho.MQTTv5
        return self._handle_publish_as_read()

    def _handle_publish_as_read(self) -> MQTTErrorCode:
        command = self._in_packet["command"]
        if command & 0x06 != 0x04:
            return super()._handle_publish()
        # QoS 2: decoded as paho does, delivered now; PUBREC is the caller's, after handling.
        result = _packet.decode_publish(command, self._in_packet["packet"], self._protocol)
        message = paho.MQTTMessage(mid=result.mid, topic=result.topic)
        message.dup = result.dup
        message.qos = result.qos
        message.retain = result.retain
        message.properties = result.properties
        message.payload = result.payload
        message.timestamp = paho.time_func()
        self._handle_on_message(message)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_pubrel(self) -> MQTTErrorCode:
        mid = decode_pubrel(self._in_packet["packet"])
        if mid is None:
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        logger.debug("< PUBREL (mid %d)", mid)
        if self.on_pubrel is not None:
            self.on_pubrel(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


def close_socket(client: paho.Client) -> None:
    """Drop the client's connection now, without DISCONNECT.

    paho has no public way to do that; ``_sock_close()`` is what its own loop uses, and it
    calls the client's ``on_socket_close`` hook.
    """
    client._sock_close()
