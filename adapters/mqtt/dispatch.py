"""From received MQTT messages to device scopes on the runtime, and acks back (asyncio).

Theory of operation
-------------------

The driver calls :meth:`Dispatcher.on_message` (synchronously, from paho's callback) for every
PUBLISH. The dispatcher finds the message's targets: the scope of the first matching
TopicRouter route (one per route and distinct set of captured values: one per device) plus the
scopes that subscribed to a matching filter with ``mqtt.subscribe``. It appends the event to
each target's :class:`Device` backlog and makes sure a pump task runs for that device.

A device's pump feeds its backlog, in order, into the device's scope on the
:class:`~gateway.runtime.ApplicationRuntime` (opening the scope with ``mqtt.connect`` when
there is none). ``deliver()`` returns a "handled" future; when it resolves the message's
ticket in :class:`~adapters.mqtt.acks.MqttAcks` (over the toolkit's
:class:`~gateway.acks.OrderedAcks`) is completed and every acknowledgement that is now at the
head is sent. So a QoS 1/2 message is
acknowledged (PUBACK / PUBREC) only after its handler returned, and acknowledgements leave in
arrival order. A QoS 2 PUBLISH re-sent with a packet id that is still held (handled or being
handled, no PUBREL yet) is not delivered again, only acknowledged (MQTT 4.3.3).

- The handler raised: the runtime logged it; the message is acknowledged anyway (a message
  that always fails must not be redelivered forever). Events queued behind it in that dead
  instance were never handled (ScopeClosed): they go back to the device's backlog, in order,
  and reach a new instance.
- A status message with an "offline" payload is delivered, then the scope is closed with
  ``mqtt.disconnect`` reason "offline". Idle scopes are closed by the runtime (reason "idle").
- Back-pressure: at most ``receive_maximum`` messages are between ``on_message`` and
  "handled"; past it the driver stops reading the socket until half of them are done.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from prometheus_client import Counter

from adapters.mqtt.acks import MqttAcks, Ticket
from adapters.mqtt.config import MqttConfig
from adapters.mqtt.mapping import (
    PublishRequest,
    build_scope,
    connect_event,
    disconnect_event,
    message_event,
    parse_publish,
    parse_subscription,
    publish_result_event,
)
from gateway.exceptions import LocalProtocolError, ScopeClosed
from gateway.mqtt.routing import TopicRouter
from gateway.mqtt.topics import filter_matches
from gateway.runtime import ApplicationRuntime, ScopeHandle

logger = logging.getLogger(__name__)

DROPPED = Counter(
    "gateway_mqtt_dropped",
    "MQTT messages dropped without reaching a consumer, by reason (oversize, no_route, retries).",
    ["reason"],
)
_DROPPED_OVERSIZE = DROPPED.labels(reason="oversize")
_DROPPED_NO_ROUTE = DROPPED.labels(reason="no_route")
_DROPPED_RETRIES = DROPPED.labels(reason="retries")

#: Topics whose route is remembered (the cache is emptied when it is full).
ROUTE_CACHE_SIZE = 10000
#: A message whose scope keeps ending before taking it is given up after this many tries.
MAX_ATTEMPTS = 3


class Link(Protocol):
    """What the dispatcher needs from the MQTT connection (the driver implements it)."""

    def ack(self, mid: int, qos: int) -> None: ...

    def publish(
        self, request: PublishRequest, done: Callable[[int | None, str | None], None]
    ) -> None: ...

    def subscribe(self, topic_filter: str, qos: int) -> None: ...

    def unsubscribe(self, topic_filter: str) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class _Item:
    """One event waiting in a device's backlog."""

    __slots__ = ("attempts", "event", "offline", "seq", "ticket")

    def __init__(
        self, seq: int, event: dict[str, Any], ticket: Ticket | None, offline: bool
    ) -> None:
        self.seq = seq
        self.event = event
        self.ticket = ticket
        self.offline = offline
        self.attempts = 0


@dataclass(eq=False)
class Device:
    """A scope key's backlog, its pump task, and the topic its scope was opened for."""

    key: Hashable
    topic: str
    backlog: deque[_Item] = field(default_factory=deque)
    pump: asyncio.Task[None] | None = None
    wakeup: asyncio.Future[None] | None = None
    subscriptions: set[str] = field(default_factory=set)


class Dispatcher:
    """Routes received messages to device scopes and acknowledges them after handling.

    Args:
        runtime: the application runtime to open scopes on.
        router: the application's TopicRouter, or None (then every topic is its own scope).
        config: the adapter's configuration.
        client_id: our MQTT client id (it goes in each scope).
        link: the connection (acks, publishes, subscriptions, read pausing).
    """

    def __init__(
        self,
        runtime: ApplicationRuntime,
        router: TopicRouter | None,
        config: MqttConfig,
        client_id: str,
        link: Link,
    ) -> None:
        self.runtime = runtime
        self.router = router
        self.config = config
        self.client_id = client_id
        self.link = link
        self.acks = MqttAcks(link.ack)
        self.devices: dict[Hashable, Device] = {}
        self._dynamic: dict[str, set[Hashable]] = {}
        self._dynamic_qos: dict[str, int] = {}
        self._routes: dict[str, tuple[Hashable, bool] | tuple[()]] = {}
        self._seq = 0
        self._in_flight = 0
        self._paused = False
        self._resume_at = max(1, config.receive_maximum // 2)
        self._loop = asyncio.get_running_loop()
        self._offline = frozenset(config.offline_payloads)
        self._closing = False

    @property
    def in_flight(self) -> int:
        """Messages received and not yet handled by every target."""
        return self._in_flight

    # -- in: from the driver --------------------------------------------------------------

    def on_message(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        dup: bool,
        mid: int,
        properties: dict[str, Any] | None = None,
    ) -> None:
        """Take a received PUBLISH. Call from the driver's message callback; never raises."""
        if len(payload) > self.config.max_payload:
            logger.warning(
                "dropping message on %r: payload of %d bytes is over MQTT_MAX_PAYLOAD=%d",
                topic,
                len(payload),
                self.config.max_payload,
            )
            _DROPPED_OVERSIZE.inc()
            self._ack_now(mid, qos)
            return
        targets = self._targets(topic)
        if not targets:
            logger.debug("no route or subscription for %r: acknowledging and dropping it", topic)
            _DROPPED_NO_ROUTE.inc()
            self._ack_now(mid, qos)
            return
        if qos == 2:
            ticket = self.acks.add_qos2(mid, len(targets))
            if ticket is None:
                # A re-sent copy of a message handled here or being handled: not again.
                logger.debug("< duplicate QoS 2 message %d on %r: not delivered again", mid, topic)
                return
        else:
            ticket = self.acks.add(mid, qos, len(targets)) if qos else None
        # The runtime carries plain dicts; the TypedDict is for readers of this module.
        event = cast(dict[str, Any], message_event(topic, payload, qos, retain, dup, properties))
        for key, offline_status in targets:
            offline = offline_status and payload in self._offline
            self._enqueue(key, topic, _Item(self._next_seq(), event, ticket, offline))
        self._in_flight += len(targets)
        if not self._paused and self._in_flight >= self.config.receive_maximum:
            self._paused = True
            self.link.pause_reading()

    def connection_lost(self) -> None:
        """The connection is gone: its acks can no longer be sent (the broker redelivers)."""
        dropped = self.acks.clear()
        if dropped:
            logger.info("connection lost with %d message(s) not acknowledged yet", dropped)

    def released(self, mid: int) -> None:
        """The broker sent PUBREL for a QoS 2 message (the driver answered PUBCOMP)."""
        self.acks.released(mid)

    def session_lost(self) -> None:
        """The broker kept no session for us: it will not send PUBREL for earlier messages."""
        self.acks.forget_qos2()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _targets(self, topic: str) -> list[tuple[Hashable, bool]]:
        targets: list[tuple[Hashable, bool]] = []
        if self.router is None:
            targets.append((("topic", topic), False))
        else:
            # Devices publish on the same few topics over and over: remember where they go.
            route = self._routes.get(topic)
            if route is None:
                found = self.router.resolve(topic)
                route = (found.key, found.is_status) if found is not None else ()
                if len(self._routes) >= ROUTE_CACHE_SIZE:
                    self._routes.clear()
                self._routes[topic] = route
            if route:
                targets.append(route)
        if self._dynamic:
            seen = {key for key, _status in targets}
            for topic_filter, keys in self._dynamic.items():
                if filter_matches(topic_filter, topic):
                    targets.extend((key, False) for key in keys - seen)
                    seen |= keys
        return targets

    def _ack_now(self, mid: int, qos: int) -> None:
        if qos:
            self.acks.add(mid, qos, 0)  # acknowledged in its turn

    # -- device backlogs and pumps ----------------------------------------------------------

    def _enqueue(self, key: Hashable, topic: str, item: _Item) -> None:
        device = self.devices.get(key)
        if device is None:
            device = self.devices[key] = Device(key, topic)
        device.backlog.append(item)
        self._wake(device)

    def _wake(self, device: Device) -> None:
        # One long-lived pump per device with an open scope: waking it is cheaper than a task
        # per burst of messages.
        if device.pump is None:
            device.pump = self._loop.create_task(self._pump(device))
        elif device.wakeup is not None and not device.wakeup.done():
            device.wakeup.set_result(None)

    async def _pump(self, device: Device) -> None:
        runtime = self.runtime
        backlog = device.backlog
        try:
            while True:
                if not backlog:
                    if self._closing or runtime.get(device.key) is None:
                        return
                    device.wakeup = self._loop.create_future()
                    await device.wakeup
                    continue
                item = backlog[0]
                handle = runtime.get(device.key)
                if (
                    item.ticket is None
                    and item.event["type"] != "mqtt.message"
                    and (handle is None or handle.closed)
                ):
                    # A publish result for a scope that has ended: nobody to tell.
                    backlog.popleft()
                    continue
                if handle is None or handle.closed:
                    handle = await self._scope_for(device)
                try:
                    # Most of the time there is room: no coroutine for this message.
                    handled = handle.deliver_nowait(item.event) or await handle.deliver(item.event)
                except ScopeClosed:
                    await handle.wait_closed()
                    continue
                backlog.popleft()
                handled.add_done_callback(functools.partial(self._handled, device, item))
                if item.offline:
                    logger.info("%s reported offline: closing its scope", device.topic)
                    await handle.close(cast(dict[str, Any], disconnect_event("offline")))
        except Exception:
            # Opening the scope failed (shutting down): these messages are not acknowledged,
            # so the broker redelivers them to whoever connects next.
            logger.exception("cannot deliver to %s: dropping its backlog", device.topic)
            self._abandon(device)
        finally:
            device.pump = None
            device.wakeup = None
            if not backlog and runtime.get(device.key) is None:
                self.devices.pop(device.key, None)

    async def _scope_for(self, device: Device) -> ScopeHandle:
        handle = self.runtime.get(device.key)
        if handle is not None and handle.closed:
            await handle.wait_closed()
            handle = self.runtime.get(device.key)
        if handle is not None:
            return handle
        scope = build_scope(device.topic, self.client_id, self.config.broker, self.config.protocol)
        handle = await self.runtime.open_scope(
            device.key,
            scope,
            self._sender(device.key),
            on_close=self._scope_closed,
            close_event=cast(dict[str, Any], disconnect_event("idle")),
        )
        await handle.deliver(connect_event(device.topic, self.client_id, False))
        return handle

    def _handled(self, device: Device, item: _Item, future: asyncio.Future[None]) -> None:
        """A delivered event was handled (or never will be): ack, or retry in a new scope."""
        error = future.exception() if not future.cancelled() else None
        if isinstance(error, ScopeClosed) and not self._closing:
            item.attempts += 1
            if item.attempts < MAX_ATTEMPTS:
                # Never taken by the instance that ended: give it to the next one, in order.
                backlog = device.backlog
                backlog.append(item)
                if len(backlog) > 1:
                    ordered = sorted(backlog, key=lambda queued: queued.seq)
                    backlog.clear()
                    backlog.extend(ordered)
                self.devices.setdefault(device.key, device)
                self._wake(device)
                return
            logger.warning(
                "giving up on a message for %s after %d tries", device.topic, MAX_ATTEMPTS
            )
            _DROPPED_RETRIES.inc()
        self._done(item)

    def _done(self, item: _Item) -> None:
        if item.event.get("type") != "mqtt.message":
            return
        self._in_flight -= 1
        if item.ticket is not None:
            self.acks.done(item.ticket)
        if self._paused and self._in_flight <= self._resume_at:
            self._paused = False
            self.link.resume_reading()

    def _abandon(self, device: Device) -> None:
        while device.backlog:
            item = device.backlog.popleft()
            if item.event.get("type") == "mqtt.message":
                self._in_flight -= 1

    async def _scope_closed(self, handle: ScopeHandle, exc: BaseException | None) -> None:
        device = self.devices.get(handle.key)
        if device is None:
            return
        for topic_filter in list(device.subscriptions):
            self._drop_subscription(device, topic_filter)
        if device.pump is not None:
            self._wake(device)  # so that it ends, or opens a new scope for what is left
        elif not device.backlog:
            self.devices.pop(handle.key, None)

    # -- out: from the application ----------------------------------------------------------

    def _sender(self, key: Hashable) -> Callable[[dict[str, Any]], Any]:
        async def send(message: dict[str, Any]) -> None:
            self.handle_app_message(key, message)

        return send

    def handle_app_message(self, key: Hashable, message: dict[str, Any]) -> None:
        """Carry out a message an application sent (``mqtt.publish``, ``mqtt.subscribe``...).

        Raises:
            LocalProtocolError: the message is invalid (bad topic, qos, payload or type); the
                application sees the error at its ``await send(...)``.
        """
        kind = message.get("type")
        if kind == "mqtt.publish":
            request = parse_publish(message)
            self.link.publish(request, lambda mid, error: self._published(key, request, mid, error))
        elif kind == "mqtt.subscribe":
            topic_filter, qos = parse_subscription(message)
            device = self.devices.get(key)
            if device is not None and topic_filter not in device.subscriptions:
                device.subscriptions.add(topic_filter)
                keys = self._dynamic.setdefault(topic_filter, set())
                if not keys or qos > self._dynamic_qos[topic_filter]:
                    self._dynamic_qos[topic_filter] = qos
                    self.link.subscribe(topic_filter, qos)
                keys.add(key)
        elif kind == "mqtt.unsubscribe":
            topic_filter, _qos = parse_subscription(message)
            device = self.devices.get(key)
            if device is not None and topic_filter in device.subscriptions:
                self._drop_subscription(device, topic_filter)
        else:
            raise LocalProtocolError(
                f"an mqtt scope cannot send {kind!r}: send mqtt.publish, mqtt.subscribe or "
                "mqtt.unsubscribe"
            )

    def _drop_subscription(self, device: Device, topic_filter: str) -> None:
        device.subscriptions.discard(topic_filter)
        keys = self._dynamic.get(topic_filter)
        if keys is None:
            return
        keys.discard(device.key)
        if not keys:
            del self._dynamic[topic_filter]
            del self._dynamic_qos[topic_filter]
            self.link.unsubscribe(topic_filter)

    @property
    def subscriptions(self) -> dict[str, int]:
        """The filters scopes subscribed to (to subscribe again after a reconnect)."""
        return dict(self._dynamic_qos)

    def _published(
        self, key: Hashable, request: PublishRequest, mid: int | None, error: str | None
    ) -> None:
        if error is not None:
            logger.warning("publish to %r failed: %s", request.topic, error)
        device = self.devices.get(key)
        handle = self.runtime.get(key)
        if device is None or handle is None or handle.closed:
            return
        item = _Item(self._next_seq(), publish_result_event(request, mid, error), None, False)
        device.backlog.append(item)
        self._wake(device)

    # -- shutdown -----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close every scope with ``mqtt.disconnect`` reason "shutdown", then the runtime."""
        self._closing = True
        for device in self.devices.values():
            if device.pump is not None:
                device.pump.cancel()
        handles = [h for h in (self.runtime.get(key) for key in list(self.devices)) if h]
        if handles:
            # A fresh event per scope: consumers may keep or change what they receive.
            closes = [h.close(cast(dict[str, Any], disconnect_event("shutdown"))) for h in handles]
            await asyncio.wait(
                [asyncio.ensure_future(close) for close in closes],
                timeout=self.runtime.shutdown_timeout,
            )
        await self.runtime.shutdown()
