"""MqttCommunicator: play a device and the broker against an ``mqtt`` application, in-process.

What ``WebsocketCommunicator`` is for WebSocket consumers, for MQTT consumers: no broker, no
adapter, no socket. The communicator builds the scope the MQTT adapter builds for one device
(docs/specs/mqtt.md), sends the events the adapter would send (``mqtt.connect``,
``mqtt.message``, ``mqtt.disconnect``) and reads what the application sends back
(``mqtt.publish``, ``mqtt.subscribe``, ``mqtt.unsubscribe``), answering each publish with
``mqtt.publish.result`` as the adapter does once the broker acknowledged it::

    communicator = MqttCommunicator(TopicRouter(routes), "devices/42/telemetry")
    await communicator.connect()
    await communicator.send_message(b"21.5", qos=1)
    published = await communicator.receive_publish()
    assert published["topic"] == "devices/42/ack"
    await communicator.disconnect("offline")

It imports nothing from ``adapters/``: it speaks the spec, so it tests any application that
does, and the adapter is tested against the same spec with a real broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.exceptions import ConfigurationError, RemoteProtocolError, UnexpectedMessage
from gateway.testing.application import ApplicationCommunicator

#: The MQTT ASGI spec version our adapter implements (docs/specs/mqtt.md).
SPEC_VERSION = "1.0"

_WILDCARDS = ("+", "#")


class MqttCommunicator(ApplicationCommunicator):
    """One device's ``mqtt`` scope on ``application``, driven by the test.

    Args:
        application: an ASGI application (e.g. a ``TopicRouter``) or a consumer class.
        topic: the topic of the scope's first message (what a ``TopicRouter`` routes by).
        mqtt_version: ``"5"`` or ``"3.1.1"``, as the adapter's connection would be.
        client_id: the adapter's client id, put in the scope and in ``mqtt.connect``.
        broker: ``host:port`` of the (pretended) broker.
        captures: ``scope["topic_route"]["kwargs"]`` for an application run without a
            ``TopicRouter`` (a router sets them itself from the topic).
        publish_results: answer every publish with an ``ok`` ``mqtt.publish.result``; turn off
            to answer with :meth:`answer_publish` (e.g. a failed publish).

    Raises:
        ConfigurationError: ``topic`` is not a topic name, or ``mqtt_version`` is unknown.
    """

    def __init__(
        self,
        application: Any,
        topic: str,
        *,
        mqtt_version: str = "5",
        client_id: str = "gateway-test",
        broker: str = "testbroker:1883",
        captures: Mapping[str, str] | None = None,
        publish_results: bool = True,
    ) -> None:
        _check_topic_name(topic, ConfigurationError)
        if mqtt_version not in {"5", "3.1.1"}:
            raise ConfigurationError(f'mqtt_version must be "5" or "3.1.1", got {mqtt_version!r}')
        scope: dict[str, Any] = {
            "type": "mqtt",
            "asgi": {"version": "3.0", "spec_version": SPEC_VERSION},
            "spec_version": SPEC_VERSION,
            "mqtt_version": mqtt_version,
            "topic": topic,
            "client_id": client_id,
            "broker": broker,
        }
        if captures is not None:
            scope["topic_route"] = {
                "args": (),
                "kwargs": dict(captures),
                "pattern": None,
                "name": None,
            }
        super().__init__(application, scope)
        self.topic = topic
        self.publish_results = publish_results
        #: Filters the application subscribed to in this scope, with their QoS.
        self.subscriptions: dict[str, int] = {}
        self._mid = 0

    async def connect(self) -> None:
        """Send ``mqtt.connect`` (the scope opens). Nothing is expected back.

        Raises:
            Exception: whatever the application raised.
        """
        await self.send_input(
            {
                "type": "mqtt.connect",
                "topic": self.topic,
                "client_id": self.scope["client_id"],
                "session_present": False,
            }
        )

    async def send_message(
        self,
        payload: bytes | str = b"",
        *,
        topic: str | None = None,
        qos: int = 0,
        retain: bool = False,
        dup: bool = False,
        properties: Mapping[str, Any] | None = None,
    ) -> None:
        """Deliver a message, as the broker would (``mqtt.message``).

        Args:
            payload: bytes, or a str sent as UTF-8.
            topic: the topic it was published to; default: the scope's topic.
            properties: MQTT 5 properties, snake-case keys (``{"content_type": "text/plain"}``).

        Raises:
            ConfigurationError: a bad topic, payload or qos.
            Exception: whatever the application raised.
        """
        topic = self.topic if topic is None else _check_topic_name(topic, ConfigurationError)
        if isinstance(payload, str):
            payload = payload.encode()
        if not isinstance(payload, bytes):
            raise ConfigurationError(f"payload must be bytes or str, got {type(payload).__name__}")
        if qos not in (0, 1, 2):
            raise ConfigurationError(f"qos must be 0, 1 or 2, got {qos!r}")
        try:
            text: str | None = payload.decode()
        except UnicodeDecodeError:
            text = None
        await self.send_input(
            {
                "type": "mqtt.message",
                "topic": topic,
                "payload": payload,
                "text": text,
                "qos": qos,
                "retain": retain,
                "dup": dup,
                "properties": dict(properties or {}),
            }
        )

    async def receive_publish(self, timeout: float = 1) -> dict[str, Any]:
        """Return the application's next ``mqtt.publish``, with ``payload`` as bytes.

        ``mqtt.subscribe`` / ``mqtt.unsubscribe`` messages before it update
        :attr:`subscriptions`. Unless ``publish_results`` is off, the publish is answered with
        an ``ok`` ``mqtt.publish.result``, as the adapter does once the broker acknowledged it.

        Returns:
            The publish: ``topic``, ``payload`` (bytes, also when sent as ``text``), ``qos``,
            ``retain``, ``properties`` and ``id``.

        Raises:
            UnexpectedMessage: the application sent another message type (an AssertionError).
            RemoteProtocolError: a publish or subscription that breaks the spec (the adapter
                would refuse it with LocalProtocolError in the application's ``send``).
            TimeoutError: nothing within ``timeout``.
            Exception: whatever the application raised.
        """
        while True:
            message = await self.receive_output(timeout)
            kind = message.get("type")
            if kind in ("mqtt.subscribe", "mqtt.unsubscribe"):
                self._subscription(message)
                continue
            if kind != "mqtt.publish":
                raise UnexpectedMessage(f"Expected type 'mqtt.publish', but was '{kind}'")
            publish = _checked_publish(message)
            if self.publish_results:
                await self.answer_publish(publish)
            return publish

    async def answer_publish(
        self, publish: Mapping[str, Any], ok: bool = True, error: str | None = None
    ) -> None:
        """Send ``mqtt.publish.result`` for ``publish`` (from :meth:`receive_publish`)."""
        self._mid += 1
        await self.send_input(
            {
                "type": "mqtt.publish.result",
                "id": publish.get("id"),
                "topic": publish["topic"],
                "mid": self._mid if ok else None,
                "ok": ok,
                "error": None if ok else (error or "publish failed"),
            }
        )

    async def disconnect(self, reason: str = "offline", timeout: float = 1) -> None:
        """Send ``mqtt.disconnect`` (``"offline"``, ``"idle"`` or ``"shutdown"``) and wait for
        the application to finish.

        Raises:
            ConfigurationError: an unknown reason.
            Exception: whatever the application raised.
        """
        if reason not in {"offline", "idle", "shutdown"}:
            raise ConfigurationError(
                f'reason must be "offline", "idle" or "shutdown", got {reason!r}'
            )
        await self.send_input({"type": "mqtt.disconnect", "reason": reason})
        await self.wait(timeout)  # type: ignore[no-untyped-call]

    def _subscription(self, message: Mapping[str, Any]) -> None:
        topic_filter = message.get("topic")
        if not isinstance(topic_filter, str) or not topic_filter:
            raise RemoteProtocolError(f"{message.get('type')}: topic must be a non-empty str")
        levels = topic_filter.split("/")
        for index, level in enumerate(levels):
            if ("+" in level or "#" in level) and level not in _WILDCARDS:
                raise RemoteProtocolError(
                    f"invalid filter {topic_filter!r}: + and # must be whole levels"
                )
            if level == "#" and index != len(levels) - 1:
                raise RemoteProtocolError(f"invalid filter {topic_filter!r}: # must come last")
        if message["type"] == "mqtt.subscribe":
            self.subscriptions[topic_filter] = _qos(message)
        else:
            self.subscriptions.pop(topic_filter, None)


def _check_topic_name(topic: object, error: type[Exception]) -> str:
    if not isinstance(topic, str) or not topic:
        raise error(f"a topic must be a non-empty str, got {topic!r}")
    if any(wildcard in topic for wildcard in _WILDCARDS) or "\x00" in topic:
        raise error(f"invalid topic {topic!r}: a topic name has no wildcards + or # and no NUL")
    return topic


def _qos(message: Mapping[str, Any]) -> int:
    qos = message.get("qos", 0)
    if qos not in (0, 1, 2) or isinstance(qos, bool):
        raise RemoteProtocolError(f"{message.get('type')}: qos must be 0, 1 or 2, got {qos!r}")
    return int(qos)


def _checked_publish(message: Mapping[str, Any]) -> dict[str, Any]:
    topic = _check_topic_name(message.get("topic"), RemoteProtocolError)
    payload, text = message.get("payload"), message.get("text")
    if payload is not None and text is not None:
        raise RemoteProtocolError(
            "mqtt.publish: give either payload (bytes) or text (str), not both"
        )
    if text is not None:
        if not isinstance(text, str):
            raise RemoteProtocolError(
                f"mqtt.publish: text must be a str, got {type(text).__name__}"
            )
        payload = text.encode()
    payload = b"" if payload is None else payload
    if not isinstance(payload, bytes):
        raise RemoteProtocolError(
            f"mqtt.publish: payload must be bytes (or use text for a str), got "
            f"{type(payload).__name__}"
        )
    retain = message.get("retain", False)
    if not isinstance(retain, bool):
        raise RemoteProtocolError(f"mqtt.publish: retain must be True or False, got {retain!r}")
    properties = message.get("properties", {})
    if not isinstance(properties, dict):
        raise RemoteProtocolError("mqtt.publish: properties must be a dict")
    return {
        "topic": topic,
        "payload": payload,
        "qos": _qos(message),
        "retain": retain,
        "properties": properties,
        "id": message.get("id"),
    }
