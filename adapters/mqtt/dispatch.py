"""From received MQTT messages to device scopes on the runtime, and acks back (asyncio).

Theory of operation
-------------------

The driver calls :meth:`Dispatcher.on_message` (synchronously, from paho's callback) for every
PUBLISH. The dispatcher finds the message's targets: the scope of the first matching
TopicRouter route (one per route and distinct set of captured values: one per device) plus the
scopes that subscribed to a matching filter with ``mqtt.subscribe``. It hands the event to
each target with the runtime's :meth:`~gateway.runtime.ApplicationRuntime.deliver_by_key`,
which keeps each device's events in order, opens the device's scope when it has none (its
first event is ``mqtt.connect``), and gives events an ended instance never took to a new one.

``deliver_by_key`` returns a "handled" future; when it resolves, the message's ticket in
:class:`~adapters.mqtt.acks.MqttAcks` (over the toolkit's :class:`~gateway.acks.OrderedAcks`)
is completed and every acknowledgement that is now at the head is sent. So a QoS 1/2 message
is acknowledged (PUBACK / PUBREC) only after its handler returned, and acknowledgements leave
in arrival order. A QoS 2 PUBLISH re-sent with a packet id that is still held (handled or
being handled, no PUBREL yet) is not delivered again, only acknowledged (MQTT 4.3.3).

- The handler raised: the runtime logged it; the message is acknowledged anyway (a message
  that always fails must not be redelivered forever). Events queued behind it in that dead
  instance were never handled: the runtime gives them to a new instance, in order (at most
  ``max_attempts`` instances per event, then it is dropped, logged and counted, and
  acknowledged).
- A status message with an "offline" payload is delivered, then the scope is closed behind
  it (``close_by_key``) with ``mqtt.disconnect`` reason "offline". Idle scopes are closed by
  the runtime (reason "idle").
- Back-pressure: once ``receive_maximum`` QoS 1/2 messages are unacknowledged (MQTT 5's
  Receive Maximum, enforced here for MQTT 3.1.1 too), or a device's backlog in the runtime
  reaches ``queue_size`` behind its full scope (QoS 0 floods), the driver stops reading the
  socket, until the acknowledgements are down to half and that device has handled the message
  that filled it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Hashable
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
from gateway.clock import wait_until
from gateway.exceptions import LocalProtocolError, ScopeClosed
from gateway.mqtt.routing import TopicRouter
from gateway.mqtt.topics import filter_matches
from gateway.runtime import ApplicationRuntime, Opener, ScopeHandle, ScopeSpec

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
        self.acks = MqttAcks(self._send_ack)
        #: The scope opener of each device seen (it knows the topic the scope opens for).
        self._openers: dict[Hashable, Opener] = {}
        #: Filters each device's scope subscribed to with mqtt.subscribe.
        self._scope_filters: dict[Hashable, set[str]] = {}
        self._dynamic: dict[str, set[Hashable]] = {}
        self._dynamic_qos: dict[str, int] = {}
        self._routes: dict[str, tuple[Hashable, bool] | tuple[()]] = {}
        self._paused = False
        self._blocked: Hashable | None = None
        self._resume_at = max(1, config.receive_maximum // 2)
        self._offline = frozenset(config.offline_payloads)
        self._closing = False

    @property
    def in_flight(self) -> int:
        """QoS 1/2 messages received and not acknowledged yet (what Receive Maximum bounds)."""
        return len(self.acks)

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
        ticket: Ticket | None
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
        deliver = self.runtime.deliver_by_key
        for key, status in targets:
            handled = deliver(key, event, self._opener(key, topic))
            if ticket is not None:
                handled.add_done_callback(functools.partial(self._handled, ticket))
            if status and payload in self._offline:
                self._went_offline(key, topic)
            if self._blocked is None and self.runtime.backlog(key) >= self.runtime.queue_size:
                # This device's scope is full and its backlog too: read nothing more until
                # the device has caught up with this message.
                self._blocked = key
                handled.add_done_callback(self._caught_up)
                self._pause()
        if not self._paused and len(self.acks) >= self.config.receive_maximum:
            self._pause()

    def connection_lost(self) -> None:
        """The connection is gone: its acks can no longer be sent (the broker redelivers)."""
        dropped = self.acks.clear()
        if dropped:
            logger.info("connection lost with %d message(s) not acknowledged yet", dropped)
        self._maybe_resume()

    def released(self, mid: int) -> None:
        """The broker sent PUBREL for a QoS 2 message (the driver answered PUBCOMP)."""
        self.acks.released(mid)

    def session_lost(self) -> None:
        """The broker kept no session for us: it will not send PUBREL for earlier messages."""
        self.acks.forget_qos2()

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

    def _send_ack(self, mid: int, qos: int) -> None:
        self.link.ack(mid, qos)
        if self._paused:
            self._maybe_resume()

    def _handled(self, ticket: Ticket, future: asyncio.Future[None]) -> None:
        """A delivered message was handled, or never will be: it may be acknowledged."""
        if future.cancelled() or isinstance(future.exception(), ScopeClosed):
            if self._closing:
                return  # not handled before shutdown: no ack, the broker redelivers it
            # The runtime gave up on it (instances kept ending before taking it): a message
            # that can never be handled must not come back forever.
            _DROPPED_RETRIES.inc()
        self.acks.done(ticket)
        if self._paused:
            self._maybe_resume()

    # -- scopes -----------------------------------------------------------------------------

    def _opener(self, key: Hashable, topic: str) -> Opener:
        opener = self._openers.get(key)
        if opener is None:
            opener = self._openers[key] = functools.partial(self._open, key, topic)
        return opener

    def _open(self, key: Hashable, topic: str) -> ScopeSpec:
        """How to open a device's scope (the runtime calls it when the key has none)."""
        # Known again if it was re-opened for events a closed instance never took.
        self._openers.setdefault(key, functools.partial(self._open, key, topic))
        config = self.config
        return ScopeSpec(
            scope=build_scope(topic, self.client_id, config.broker, config.protocol),
            send=self._sender(key),
            on_close=self._scope_closed,
            close_event=cast(dict[str, Any], disconnect_event("idle")),
            initial_events=[connect_event(topic, self.client_id, False)],
        )

    def _went_offline(self, key: Hashable, topic: str) -> None:
        logger.info("%s reported offline: closing its scope", topic)
        # Behind the status message: the instance takes it, then mqtt.disconnect "offline",
        # then ends (an application that goes on is cancelled after the close grace).
        self.runtime.close_by_key(key, cast(dict[str, Any], disconnect_event("offline")))

    async def _scope_closed(self, handle: ScopeHandle, exc: BaseException | None) -> None:
        self._openers.pop(handle.key, None)
        for topic_filter in list(self._scope_filters.pop(handle.key, ())):
            self._drop_subscription(handle.key, topic_filter)

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            self.link.pause_reading()

    def _caught_up(self, _future: asyncio.Future[None]) -> None:
        self._blocked = None
        self._maybe_resume()

    def _maybe_resume(self) -> None:
        if self._paused and self._blocked is None and len(self.acks) <= self._resume_at:
            self._paused = False
            self.link.resume_reading()

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
            filters = self._scope_filters.setdefault(key, set())
            if topic_filter not in filters:
                filters.add(topic_filter)
                keys = self._dynamic.setdefault(topic_filter, set())
                if not keys or qos > self._dynamic_qos[topic_filter]:
                    self._dynamic_qos[topic_filter] = qos
                    self.link.subscribe(topic_filter, qos)
                keys.add(key)
        elif kind == "mqtt.unsubscribe":
            topic_filter, _qos = parse_subscription(message)
            if topic_filter in self._scope_filters.get(key, ()):
                self._scope_filters[key].discard(topic_filter)
                self._drop_subscription(key, topic_filter)
        else:
            raise LocalProtocolError(
                f"an mqtt scope cannot send {kind!r}: send mqtt.publish, mqtt.subscribe or "
                "mqtt.unsubscribe"
            )

    def _drop_subscription(self, key: Hashable, topic_filter: str) -> None:
        keys = self._dynamic.get(topic_filter)
        if keys is None:
            return
        keys.discard(key)
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
        handle = self.runtime.get(key)
        opener = self._openers.get(key)
        if handle is None or handle.closed or opener is None:
            return  # the scope has ended: nobody to tell
        self.runtime.deliver_by_key(key, publish_result_event(request, mid, error), opener)

    # -- shutdown -----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close every scope with ``mqtt.disconnect`` reason "shutdown", then the runtime."""
        self._closing = True
        handles = [h for h in (self.runtime.get(key) for key in list(self._openers)) if h]
        if handles:
            # A fresh event per scope: consumers may keep or change what they receive.
            closes = [h.close(cast(dict[str, Any], disconnect_event("shutdown"))) for h in handles]
            clock = self.runtime.clock
            await wait_until(
                clock,
                [asyncio.ensure_future(close) for close in closes],
                clock.time() + self.runtime.shutdown_timeout,
            )
        await self.runtime.shutdown()
