"""The dispatcher on a real ApplicationRuntime, with a fake connection (no broker)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from adapters.mqtt.config import parse_url
from adapters.mqtt.dispatch import DROPPED, Dispatcher
from adapters.mqtt.mapping import PublishRequest
from gateway.clock import FakeClock
from gateway.exceptions import LocalProtocolError
from gateway.mqtt.consumer import AsyncMqttConsumer
from gateway.mqtt.routing import TopicRouter, topic
from gateway.runtime import ApplicationRuntime


class FakeLink:
    """Records what the dispatcher asks of the connection."""

    def __init__(self) -> None:
        self.acks: list[int] = []
        self.published: list[PublishRequest] = []
        self.subscribed: list[str] = []
        self.unsubscribed: list[str] = []
        self.paused = 0
        self.resumed = 0

    def ack(self, mid: int, qos: int) -> None:
        self.acks.append(mid)

    def publish(self, request: PublishRequest, done: Callable[[int | None, str | None], None]):
        self.published.append(request)
        done(len(self.published), None)

    def subscribe(self, topic_filter: str, qos: int) -> None:
        self.subscribed.append(topic_filter)

    def unsubscribe(self, topic_filter: str) -> None:
        self.unsubscribed.append(topic_filter)

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.resumed += 1


class Recorder(AsyncMqttConsumer):
    """Records what it sees; the payload tells it what to do."""

    log: list[tuple[Any, ...]] = []
    gate: asyncio.Event | None = None

    async def connect(self) -> None:
        self.log.append(("connect", self.kwargs.get("device")))

    async def message(self, event: dict[str, Any]) -> None:
        text = event["text"]
        if text == "wait":
            assert self.gate is not None
            await self.gate.wait()
        if text == "boom":
            raise RuntimeError("boom")
        if text and text.startswith("pub:"):
            await self.publish(text[4:], b"x", qos=1, id="p1")
        if text and text.startswith("sub:"):
            await self.subscribe(text[4:])
        self.log.append((self.kwargs.get("device"), event["topic"], text))

    async def mqtt_publish_result(self, event: dict[str, Any]) -> None:
        self.log.append(("result", event["id"], event["ok"]))

    async def disconnect(self, reason: str) -> None:
        self.log.append(("disconnect", self.kwargs.get("device"), reason))


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


@pytest.fixture
async def setup() -> Any:
    Recorder.log = []
    Recorder.gate = asyncio.Event()
    router = TopicRouter([topic("d/{device}/#", Recorder, status="d/{device}/status")])
    runtime = ApplicationRuntime(router, "mqtt-test", idle_timeout=None, close_grace=1.0)
    link = FakeLink()
    config = parse_url("mqtt://h?client_id=t&receive_maximum=4").with_options(max_payload=20)
    dispatcher = Dispatcher(runtime, router, config, "t", link)
    yield dispatcher, link
    Recorder.gate.set()
    await dispatcher.close()


def feed(dispatcher: Dispatcher, topic_name: str, text: str, mid: int, qos: int = 1) -> None:
    dispatcher.on_message(topic_name, text.encode(), qos, False, False, mid)


async def test_acks_wait_for_handlers_and_keep_arrival_order(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "wait", 1)
    feed(dispatcher, "d/b/t", "b1", 2)
    feed(dispatcher, "d/b/t", "b2", 3)
    await until(lambda: ("b", "d/b/t", "b2") in Recorder.log)
    # b's messages are handled (a slow device does not delay b) but not acknowledged yet.
    assert link.acks == []
    assert Recorder.gate is not None
    Recorder.gate.set()
    await until(lambda: len(link.acks) == 3)
    assert link.acks == [1, 2, 3]


async def test_one_scope_per_device_in_order(setup: Any) -> None:
    dispatcher, link = setup
    for i in range(3):
        feed(dispatcher, "d/a/t", f"a{i}", 10 + 2 * i)
        feed(dispatcher, "d/b/t", f"b{i}", 11 + 2 * i)
    await until(lambda: len(link.acks) == 6)
    a = [entry[2] for entry in Recorder.log if entry[0] == "a"]
    b = [entry[2] for entry in Recorder.log if entry[0] == "b"]
    assert (a, b) == (["a0", "a1", "a2"], ["b0", "b1", "b2"])
    assert Recorder.log.count(("connect", "a")) == 1
    assert dispatcher.runtime.open_scopes == 2


async def test_handler_error_acks_and_next_messages_reach_a_new_instance(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "boom", 1)
    feed(dispatcher, "d/a/t", "after1", 2)
    feed(dispatcher, "d/a/t", "after2", 3)
    await until(lambda: len(link.acks) == 3)
    assert link.acks == [1, 2, 3]
    assert [e[2] for e in Recorder.log if e[0] == "a"] == ["after1", "after2"]
    assert Recorder.log.count(("connect", "a")) == 2


async def test_offline_status_closes_the_scope(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "hello", 1)
    feed(dispatcher, "d/a/status", "offline", 2)
    await until(lambda: ("disconnect", "a", "offline") in Recorder.log)
    await until(lambda: dispatcher.runtime.open_scopes == 0)
    feed(dispatcher, "d/a/t", "back", 3)
    await until(lambda: len(link.acks) == 3)
    assert Recorder.log.count(("connect", "a")) == 2
    assert Recorder.log[-1] == ("a", "d/a/t", "back")


async def test_oversize_and_unrouted_messages_are_acked_and_dropped(setup: Any) -> None:
    dispatcher, link = setup
    before = DROPPED.labels(reason="oversize")._value.get()
    feed(dispatcher, "d/a/t", "x" * 21, 1)
    feed(dispatcher, "elsewhere", "x", 2)
    feed(dispatcher, "d/a/t", "fits", 3, qos=0)
    await until(lambda: ("a", "d/a/t", "fits") in Recorder.log)
    assert link.acks == [1, 2]
    assert DROPPED.labels(reason="oversize")._value.get() == before + 1
    assert all(entry[2] != "x" * 21 for entry in Recorder.log if len(entry) == 3)


async def test_binary_payload_reaches_the_consumer_as_bytes(setup: Any) -> None:
    dispatcher, link = setup
    dispatcher.on_message("d/a/t", b"\xff\xfe", 1, False, False, 1)
    await until(lambda: link.acks == [1])
    assert ("a", "d/a/t", None) in Recorder.log


async def test_publish_is_answered_and_bad_topics_refused(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "pub:out/a", 1)
    await until(lambda: ("result", "p1", True) in Recorder.log)
    assert link.published[0].topic == "out/a"
    with pytest.raises(LocalProtocolError, match="must not contain the wildcards"):
        dispatcher.handle_app_message(("x",), {"type": "mqtt.publish", "topic": "out/+"})
    with pytest.raises(LocalProtocolError, match=r"cannot send 'websocket\.send'"):
        dispatcher.handle_app_message(("x",), {"type": "websocket.send"})


async def test_scope_subscriptions(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "sub:extra/#", 1)
    await until(lambda: link.subscribed == ["extra/#"])
    assert dispatcher.subscriptions == {"extra/#": 1}
    feed(dispatcher, "extra/news", "hi", 2)
    await until(lambda: ("a", "extra/news", "hi") in Recorder.log)
    feed(dispatcher, "d/a/status", "offline", 3)
    await until(lambda: link.unsubscribed == ["extra/#"])
    assert dispatcher.subscriptions == {}


async def test_too_many_in_flight_pauses_reading(setup: Any) -> None:
    dispatcher, link = setup
    for mid in range(1, 5):
        feed(dispatcher, f"d/{mid}/t", "wait", mid)
    assert link.paused == 1 and dispatcher.in_flight == 4
    assert Recorder.gate is not None
    Recorder.gate.set()
    await until(lambda: link.resumed == 1)
    await until(lambda: link.acks == [1, 2, 3, 4])


async def test_acks_of_a_lost_connection_are_not_sent(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "wait", 1)
    dispatcher.connection_lost()
    feed(dispatcher, "d/b/t", "new", 1)
    assert Recorder.gate is not None
    Recorder.gate.set()
    await until(lambda: ("a", "d/a/t", "wait") in Recorder.log and link.acks == [1])
    await until(lambda: dispatcher.in_flight == 0)
    assert link.acks == [1]


async def test_idle_scope_gets_disconnect_idle() -> None:
    Recorder.log = []
    router = TopicRouter([topic("d/{device}/#", Recorder)])
    clock = FakeClock()
    runtime = ApplicationRuntime(router, "mqtt-test", idle_timeout=300, clock=clock)
    dispatcher = Dispatcher(runtime, router, parse_url("mqtt://h"), "t", FakeLink())
    feed(dispatcher, "d/a/t", "hi", 1, qos=0)
    await until(lambda: ("a", "d/a/t", "hi") in Recorder.log)
    clock.advance(299)
    await clock.settle()
    assert ("disconnect", "a", "idle") not in Recorder.log
    clock.advance(1)
    await until(lambda: ("disconnect", "a", "idle") in Recorder.log)
    await dispatcher.close()


async def test_shutdown_says_shutdown(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "hi", 1)
    await until(lambda: link.acks == [1])
    await dispatcher.close()
    assert ("disconnect", "a", "shutdown") in Recorder.log


async def test_qos2_copy_resent_while_handled_is_not_delivered_twice(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "wait", 5, qos=2)
    await until(lambda: ("connect", "a") in Recorder.log)
    dispatcher.connection_lost()
    # After the reconnect the broker re-sends the PUBLISH (DUP, same packet id).
    dispatcher.on_message("d/a/t", b"wait", 2, False, True, 5)
    assert Recorder.gate is not None
    Recorder.gate.set()
    await until(lambda: link.acks == [5])  # the PUBREC, once the first copy was handled
    await until(lambda: dispatcher.in_flight == 0)
    assert [entry for entry in Recorder.log if entry[0] == "a"] == [("a", "d/a/t", "wait")]
    # Re-sent again before PUBREL: PUBREC again, still not delivered.
    feed(dispatcher, "d/a/t", "wait", 5, qos=2)
    assert link.acks == [5, 5]
    dispatcher.released(5)
    feed(dispatcher, "d/a/t", "again", 5, qos=2)  # PUBREL came: a new message
    await until(lambda: ("a", "d/a/t", "again") in Recorder.log and link.acks == [5, 5, 5])


async def test_qos2_ids_are_forgotten_when_the_broker_lost_the_session(setup: Any) -> None:
    dispatcher, link = setup
    feed(dispatcher, "d/a/t", "one", 8, qos=2)
    await until(lambda: link.acks == [8])
    dispatcher.connection_lost()
    dispatcher.session_lost()
    feed(dispatcher, "d/a/t", "two", 8, qos=2)
    await until(lambda: ("a", "d/a/t", "two") in Recorder.log and link.acks == [8, 8])


async def test_a_full_device_backlog_pauses_reading_until_it_catches_up() -> None:
    Recorder.log = []
    Recorder.gate = asyncio.Event()
    router = TopicRouter([topic("d/{device}/#", Recorder)])
    runtime = ApplicationRuntime(router, "mqtt-test", queue_size=2, idle_timeout=None)
    link = FakeLink()
    dispatcher = Dispatcher(runtime, router, parse_url("mqtt://h?client_id=t"), "t", link)
    feed(dispatcher, "d/a/t", "wait", 1, qos=0)
    mid = 2
    while not link.paused:  # QoS 0: no acknowledgement to count, the backlog is the bound
        feed(dispatcher, "d/a/t", f"m{mid}", mid, qos=0)
        mid += 1
        assert mid < 50, "reading was never paused"
        await asyncio.sleep(0)
    assert link.paused == 1 and link.resumed == 0
    Recorder.gate.set()
    await until(lambda: link.resumed == 1)
    await until(lambda: ("a", "d/a/t", f"m{mid - 1}") in Recorder.log)
    texts = [entry[2] for entry in Recorder.log if entry[0] == "a"]
    assert texts == ["wait", *[f"m{n}" for n in range(2, mid)]]
    await dispatcher.close()


async def test_messages_not_handled_by_shutdown_are_not_acknowledged() -> None:
    Recorder.log = []
    Recorder.gate = asyncio.Event()
    router = TopicRouter([topic("d/{device}/#", Recorder)])
    clock = FakeClock()
    runtime = ApplicationRuntime(
        router, "mqtt-test", idle_timeout=None, close_grace=5, shutdown_timeout=10, clock=clock
    )
    link = FakeLink()
    dispatcher = Dispatcher(runtime, router, parse_url("mqtt://h?client_id=t"), "t", link)
    feed(dispatcher, "d/a/t", "done", 1)
    feed(dispatcher, "d/b/t", "wait", 2)  # never finishes: cancelled at the deadline
    feed(dispatcher, "d/b/t", "queued", 3)
    await until(lambda: link.acks == [1])
    closing = asyncio.create_task(dispatcher.close())
    while not closing.done():  # the close grace and the shutdown deadline pass
        await clock.settle()
        clock.advance(1)
    await closing
    assert link.acks == [1]  # 2 and 3 come back from the broker to the next process


async def test_offline_closes_the_scope_of_an_app_that_ignores_disconnect() -> None:
    seen: list[str] = []

    async def stubborn(scope: Any, receive: Any, send: Any) -> None:
        while True:  # never returns by itself, not even on mqtt.disconnect
            seen.append((await receive())["type"])

    router = TopicRouter([topic("d/{device}/#", stubborn, status="d/{device}/status")])
    clock = FakeClock()
    runtime = ApplicationRuntime(router, "mqtt-test", idle_timeout=None, close_grace=5, clock=clock)
    link = FakeLink()
    dispatcher = Dispatcher(runtime, router, parse_url("mqtt://h?client_id=t"), "t", link)
    feed(dispatcher, "d/a/status", "offline", 1)
    await until(lambda: "mqtt.disconnect" in seen and link.acks == [1])
    # The runtime closes it: the close event, then cancelled when it asks for more.
    await until(lambda: runtime.open_scopes == 0)
    assert seen[:3] == ["mqtt.connect", "mqtt.message", "mqtt.disconnect"]
    await dispatcher.close()
