"""paho-mqtt 2.x (callback API 2) driven from our asyncio event loop: no paho threads.

paho documents how to use it with an external event loop: its socket hooks tell us when the
socket opens, closes and has data to write, and we call ``loop_read()``, ``loop_write()`` and
``loop_misc()`` when the loop says so. Here ``loop.add_reader`` / ``loop.add_writer`` watch the
socket, and a ``call_later`` timer runs ``loop_misc()`` (keepalive PINGREQs) every second.

The driver owns the connection: connect, subscribe (again after every reconnect: MQTT 3.1.1
brokers forget the subscriptions of clean sessions, and resubscribing is harmless otherwise),
reconnect with the shared :class:`~gateway.backoff.Backoff` (capped exponential, jitter, one
WARNING per outage), acknowledgements (``manual_ack=True``: paho never acks by itself),
publishes with their outcome, and read pausing for back-pressure.
It implements :class:`adapters.mqtt.dispatch.Link`. Every paho private it needs is in
:mod:`adapters.mqtt.paho_compat`; the packets it writes itself come from
:mod:`adapters.mqtt.packets`.

paho opens the connection in ``client.reconnect()``, blocking: name lookup, TCP connect and
TLS handshake, each bounded by its ``connect_timeout`` (5 s). Here that part runs in a worker
thread (``FastClient.open_socket``) and ``reconnect()`` gets the open socket, so the event loop
keeps serving while a broker is slow or unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.mqtt.config import MQTT_V5, MqttConfig
from adapters.mqtt.mapping import PublishRequest
from adapters.mqtt.packets import PUBACK, PUBCOMP, PUBREC, ack_packet
from adapters.mqtt.paho_compat import FastClient, close_socket, properties_of, to_properties
from gateway.backoff import Backoff
from gateway.mqtt.topics import shared

logger = logging.getLogger(__name__)

#: Packets read per readable-socket callback at most, so other tasks get their turn.
READ_BATCH = 256
MISC_INTERVAL = 1.0

OnMessage = Callable[[str, bytes, int, bool, bool, int, "dict[str, Any] | None"], None]


class MqttDriver:
    """The broker connection. Set :attr:`on_message` and :attr:`on_connection_lost`, then
    ``await run(stop)``.

    Args:
        config: the adapter configuration.
        client_id: the MQTT client id to connect with.
        filters: topic filters to subscribe to after every connect (the shared-subscription
            prefix is added here when configured).
        extra_subscriptions: returns more filters to subscribe to (scopes' own, not shared).
    """

    def __init__(
        self,
        config: MqttConfig,
        client_id: str,
        filters: list[str],
        extra_subscriptions: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.config = config
        self.client_id = client_id
        self.filters = [shared(f, config.shared_group) for f in filters]
        self.extra_subscriptions = extra_subscriptions or dict
        self.on_message: OnMessage = _ignore_message
        self.on_connection_lost: Callable[[], None] = lambda: None
        #: Called with the packet id of each PUBREL (after PUBCOMP is queued).
        self.on_release: Callable[[int], None] = lambda mid: None
        #: Called when a CONNACK says the broker kept no session (no PUBREL will come).
        self.on_session_lost: Callable[[], None] = lambda: None
        self.connected = False
        self.session_present = False
        #: Set once the broker has answered the subscriptions of the current connection.
        self.ready = asyncio.Event()
        #: Successful connections so far (1 after the first CONNACK).
        self.connections = 0
        self._loop = asyncio.get_running_loop()
        self._v5 = config.protocol == MQTT_V5
        self._sock: Any = None
        self._writing = False
        self._unsent = b""
        self._acks = bytearray()
        self._reading_paused = False
        self._misc: asyncio.TimerHandle | None = None
        self._received = 0
        self._connack: asyncio.Future[bool] | None = None
        self._lost: asyncio.Future[None] | None = None
        self._publishes: dict[int, tuple[int, Callable[[int | None, str | None], None]]] = {}
        self._subscribing: dict[int, list[str]] = {}
        self.client = self._build_client()

    def _build_client(self) -> FastClient:
        config = self.config
        client = FastClient(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if self._v5 else config.clean_start,
            protocol=paho.MQTTv5 if self._v5 else paho.MQTTv311,
            reconnect_on_failure=False,
            manual_ack=True,
        )
        if config.username is not None:
            client.username_pw_set(config.username, config.password)
        if config.tls is not None:
            client.tls_set(
                ca_certs=config.tls.ca_certs,
                certfile=config.tls.certfile,
                keyfile=config.tls.keyfile,
            )
            client.tls_insecure_set(config.tls.insecure)
        # Outgoing QoS 1/2 publishes in flight; paho queues the rest.
        client.max_inflight_messages_set(max(20, config.receive_maximum // 4))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        client.on_pubrel = self._on_pubrel
        properties = None
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 0 if config.clean_start else config.session_expiry
            # MQTT 5 3.1.2.11.3: the broker sends at most this many unacknowledged QoS 1/2.
            properties.ReceiveMaximum = config.receive_maximum
        client.connect_async(
            config.host,
            config.port,
            keepalive=config.keepalive,
            clean_start=config.clean_start,
            properties=properties,
        )
        return client

    # -- the connection loop ----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected (reconnecting as needed) until ``stop`` is set.

        The connection stays open on return, so that the last acknowledgements can still go
        out: call :meth:`close` after the scopes have finished.
        """
        backoff = Backoff(
            f"MQTT broker {self.config.broker}",
            logger=logger,
            initial=self.config.reconnect_min,
            maximum=self.config.reconnect_max,
        )
        stopping: asyncio.Task[Any] = self._loop.create_task(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self._connect_once(stopping)
                except (OSError, TimeoutError, ConnectionError) as exc:
                    if stop.is_set():
                        break
                    # Some errors have no text (a bare TimeoutError): name their type instead.
                    reason = exc if str(exc) else ConnectionError(type(exc).__name__)
                    await backoff.wait(reason, stop=stop)
                    continue
                backoff.succeeded()
                logger.info(
                    "connected to MQTT broker %s as %r (MQTT %s, session present: %s)",
                    self.config.broker,
                    self.client_id,
                    self.config.protocol,
                    self.session_present,
                )
                assert self._lost is not None
                await asyncio.wait([self._lost, stopping], return_when=asyncio.FIRST_COMPLETED)
                if not stop.is_set():
                    logger.warning("connection to MQTT broker %s lost", self.config.broker)
        finally:
            stopping.cancel()

    async def _connect_once(self, stopping: asyncio.Future[Any]) -> None:
        self._connack = self._loop.create_future()
        self._lost = self._loop.create_future()
        opening = self._loop.run_in_executor(None, self.client.open_socket)
        await asyncio.wait([opening, stopping], return_when=asyncio.FIRST_COMPLETED)
        if not opening.done():
            # The thread ends by itself within paho's connect timeout; close what it opens.
            opening.add_done_callback(_close_opened)
            raise ConnectionError("stopping")
        rc = self.client.reconnect_on(opening.result())
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise ConnectionError(paho.error_string(rc))
        timeout = max(10.0, float(self.config.keepalive))
        waiters: list[asyncio.Future[Any]] = [self._connack, self._lost, stopping]
        await asyncio.wait(waiters, timeout=timeout, return_when="FIRST_COMPLETED")
        if self._connack.done() and not self._connack.exception():
            self.session_present = self._connack.result()
            self.connected = True
            self.connections += 1
            return
        if self._connack.done():
            error = self._connack.exception()
        elif self._lost.done():
            error = ConnectionError("the broker closed the connection before CONNACK")
        elif stopping.done():
            error = ConnectionError("stopping")
        else:
            error = TimeoutError(f"no CONNACK within {timeout:.0f}s")
        self._close_socket()
        raise error  # type: ignore[misc]

    async def close(self) -> None:
        """Send DISCONNECT (the broker keeps a persistent session) and close the socket."""
        if self._sock is None:
            return
        self.client.disconnect()
        if self._lost is not None and not self._lost.done():
            await asyncio.wait([self._lost], timeout=2.0)
        self._close_socket()

    def _close_socket(self) -> None:
        close_socket(self.client)
        self.connected = False

    # -- paho callbacks (all on the event loop thread) ------------------------------------------

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        connack = self._connack
        if reason.is_failure:
            if connack is not None and not connack.done():
                connack.set_exception(ConnectionRefusedError(f"broker refused: {reason}"))
            return
        # Decided here, before any PUBLISH of this connection is read, so that its acks are
        # not dropped for want of a connection.
        self.connected = True
        if not flags.session_present:
            self.on_session_lost()
        self._subscribe_all()
        if connack is not None and not connack.done():
            connack.set_result(bool(flags.session_present))

    def _subscribe_all(self) -> None:
        wanted = {f: self.config.subscribe_qos for f in self.filters}
        wanted.update(self.extra_subscriptions())
        if not wanted:
            logger.warning("no topic to subscribe to: add topic() routes or MQTT_SUBSCRIPTIONS")
            return
        rc, mid = self.client.subscribe(list(wanted.items()))
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._subscribing[mid] = list(wanted)
        logger.debug("= subscribing to %s", ", ".join(wanted))

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: list[Any], properties: Any
    ) -> None:
        filters = self._subscribing.pop(mid, [])
        self.ready.set()
        for index, reason in enumerate(reasons):
            if reason.is_failure:
                name = filters[index] if index < len(filters) else "?"
                logger.error("the broker refused the subscription to %r: %s", name, reason)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        was_connected, self.connected = self.connected, False
        self.ready.clear()
        if was_connected:
            self.on_connection_lost()
        # QoS 0 publishes not written yet are gone; QoS 1/2 ones paho sends again.
        for mid, (qos, done) in list(self._publishes.items()):
            if qos == 0:
                del self._publishes[mid]
                done(None, "connection lost before the message was sent")
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._received += 1
        try:
            topic = message.topic
        except UnicodeDecodeError:
            logger.info("< message with a topic that is not UTF-8: acknowledging and dropping it")
            self.ack(message.mid, message.qos)
            return
        self.on_message(
            topic,
            bytes(message.payload),
            message.qos,
            message.retain,
            message.dup,
            message.mid,
            properties_of(message.properties) if self._v5 else None,
        )

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        pending = self._publishes.pop(mid, None)
        if pending is not None:
            failed = reason is not None and getattr(reason, "is_failure", False)
            pending[1](mid, str(reason) if failed else None)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._sock = sock
        self._writing = False
        self._unsent = b""
        self._acks = bytearray()
        if not self._reading_paused:
            self._loop.add_reader(sock, self._on_readable)
        self._misc = self._loop.call_later(MISC_INTERVAL, self._on_misc)

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if self._sock is not sock:
            return
        self._sock = None
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)
        self._writing = False
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None

    def _on_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if not self._writing and self._sock is not None:
            self._writing = True
            self._loop.add_writer(self._sock, self._on_writable)

    def _on_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if self._writing and self._sock is not None and not self._unsent:
            self._writing = False
            self._loop.remove_writer(self._sock)

    def _on_readable(self) -> None:
        client = self.client
        for _ in range(READ_BATCH):
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is None:
                return
            if self._reading_paused:
                return
            if not client.buffered:
                # All bytes read so far are decoded: wait for the loop to say there are more.
                break
        else:
            self._loop.call_soon(self._on_readable)  # more buffered: let other tasks run first
            return
        pending = getattr(self._sock, "pending", None)
        if pending is not None and pending() > 0:
            # TLS: bytes decrypted already sit in the SSL object; the fd will not wake us.
            self._loop.call_soon(self._on_readable)

    def _on_writable(self) -> None:
        if self._unsent and not self._send_unsent():
            return
        data = self.client.write_batch()
        if self._acks:
            data, self._acks = bytes(self._acks) + data, bytearray()
        if data and self._sock is not None:
            self._unsent = data
            self._send_unsent()
        elif self._writing and self._sock is not None and not self._unsent:
            self._writing = False
            self._loop.remove_writer(self._sock)

    def _send_unsent(self) -> bool:
        """Send what a write batch left; True when all is gone (else wait for writability)."""
        sock = self._sock
        if sock is None:
            self._unsent = b""
            return True
        try:
            sent = sock.send(self._unsent)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        except OSError as exc:
            # The read side sees the broken connection too and reports it; drop the bytes.
            logger.debug("= send failed: %s", exc)
            self._unsent = b""
            return True
        self._unsent = self._unsent[sent:]
        if not self._unsent:
            return True
        if not self._writing:
            self._writing = True
            self._loop.add_writer(sock, self._on_writable)
        return False

    def _on_misc(self) -> None:
        self._misc = None
        if self._sock is None:
            return
        self.client.loop_misc()
        if self._sock is not None:
            self._misc = self._loop.call_later(MISC_INTERVAL, self._on_misc)

    # -- Link: what the dispatcher calls --------------------------------------------------------

    def ack(self, mid: int, qos: int) -> None:
        """Send PUBACK (QoS 1) or PUBREC (QoS 2) for a handled message.

        The packet (:func:`~adapters.mqtt.packets.ack_packet`) is queued in the one ordered
        stream the writer sends (paho keeps no state for these acks: ``manual_ack``, and
        :class:`~adapters.mqtt.paho_compat.FastClient` for QoS 2).
        """
        if self.connected:
            self._queue_ack(ack_packet(PUBACK if qos == 1 else PUBREC, mid))

    def _on_pubrel(self, mid: int) -> None:
        # MQTT 4.3.3: answer PUBREL with PUBCOMP, also for an unknown packet id (a PUBREL
        # re-sent after a reconnect whose PUBCOMP was lost); the message was handled before
        # its PUBREC went out.
        self._queue_ack(ack_packet(PUBCOMP, mid))
        self.on_release(mid)

    def _queue_ack(self, packet: bytes) -> None:
        if self._sock is None:
            return
        self._acks += packet
        if not self._writing:
            self._writing = True
            self._loop.add_writer(self._sock, self._on_writable)

    def publish(
        self, request: PublishRequest, done: Callable[[int | None, str | None], None]
    ) -> None:
        """Publish; ``done(mid, error)`` is called once the broker has it (QoS 1/2) or it was
        written (QoS 0), or with an error string."""
        try:
            properties = (
                to_properties(PacketTypes.PUBLISH, request.properties) if self._v5 else None
            )
        except (ValueError, TypeError) as exc:
            done(None, str(exc))
            return
        info = self.client.publish(
            request.topic, request.payload, request.qos, request.retain, properties
        )
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (
            request.qos and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN
        ):
            # QoS 1/2 while disconnected: paho keeps it and sends it after the reconnect.
            self._publishes[info.mid] = (request.qos, done)
        else:
            done(None, paho.error_string(info.rc))

    def subscribe(self, topic_filter: str, qos: int) -> None:
        """Subscribe now (if connected) and after every reconnect (via extra_subscriptions)."""
        if self.connected:
            rc, mid = self.client.subscribe(topic_filter, qos)
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._subscribing[mid] = [topic_filter]

    def unsubscribe(self, topic_filter: str) -> None:
        """Unsubscribe now (if connected)."""
        if self.connected:
            self.client.unsubscribe(topic_filter)

    def pause_reading(self) -> None:
        """Stop reading the socket (too many messages in flight): TCP pushes back on the broker."""
        if not self._reading_paused:
            self._reading_paused = True
            logger.debug("= pausing reads: too many messages in flight")
            if self._sock is not None:
                self._loop.remove_reader(self._sock)

    def resume_reading(self) -> None:
        """Read the socket again."""
        if self._reading_paused:
            self._reading_paused = False
            logger.debug("= resuming reads")
            if self._sock is not None:
                self._loop.add_reader(self._sock, self._on_readable)
                self._loop.call_soon(self._on_readable)


def _close_opened(opening: asyncio.Future[Any]) -> None:
    """Close a socket opened for a connect attempt that was given up."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


def _ignore_message(*args: Any) -> None:
    """Default on_message before the adapter sets its own."""
