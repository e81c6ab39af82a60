"""gateway.worker in-process with the in-memory layer: the seed's thumbnail example and errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from gateway.consumer import AsyncConsumer
from gateway.layers import InMemoryChannelLayer
from gateway.routing import ChannelNameRouter, ProtocolTypeRouter
from gateway.testing import ApplicationCommunicator
from gateway.worker import Worker
from tests.layer_helpers import installed_layer

THUMBNAILS = "myproject.thumbnail_notifications"
handled: list[tuple[str, Any]] = []
gates: dict[Any, asyncio.Event] = {}


class ThumbnailConsumer(AsyncConsumer):
    """The seed's background consumer: handles "thumbnail.generate" on a fixed channel."""

    async def thumbnail_generate(self, event: dict[str, Any]) -> None:
        if "gate" in event:
            await gates.setdefault(event["gate"], asyncio.Event()).wait()
        if event.get("id") == "boom":
            raise RuntimeError("cannot generate thumbnail boom")
        if event.get("id") == "reply":
            await self.send({"type": "thumbnail.done"})
        handled.append((self.scope["channel"], event["id"]))


class UploadConsumer(AsyncConsumer):
    """A consumer that asks the worker for a thumbnail, as in the seed ("In a consumer")."""

    async def upload_done(self, event: dict[str, Any]) -> None:
        await self.channel_layer.send(
            "myproject.thumbnail_notifications",
            {
                "type": "thumbnail.generate",
                "id": 90902949,
            },
        )


application = ProtocolTypeRouter(
    {
        "channel": ChannelNameRouter({THUMBNAILS: ThumbnailConsumer, "other": ThumbnailConsumer}),
        "upload": UploadConsumer.as_asgi(),
    }
)


@pytest.fixture
def layer():
    """A fresh in-memory layer installed as the "default" alias, restored afterwards."""
    handled.clear()
    gates.clear()
    with installed_layer(InMemoryChannelLayer()) as fresh:
        yield fresh


async def until(predicate: Any) -> None:
    """Let the worker run until ``predicate()`` holds (bounded by pytest's timeout)."""
    while not predicate():
        await asyncio.sleep(0.001)


class Running:
    """Runs a Worker in a task for the duration of an ``async with``; stops it gracefully."""

    def __init__(self, layer: InMemoryChannelLayer, *channels: str) -> None:
        self.stop = asyncio.Event()
        self.worker = Worker(application, channels or (THUMBNAILS,), layer, shutdown_timeout=5)

    async def __aenter__(self) -> Worker:
        self.task = asyncio.create_task(self.worker.run(self.stop))
        return self.worker

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await self.task


async def test_seed_thumbnail_message_reaches_the_worker_consumer(layer) -> None:
    async with Running(layer):
        await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": 90902949})
        await until(lambda: handled)
    assert handled == [(THUMBNAILS, 90902949)]


async def test_seed_send_from_a_consumer_reaches_the_worker(layer) -> None:
    async with Running(layer):
        upload = ApplicationCommunicator(application, {"type": "upload"})
        await upload.send_input({"type": "upload.done"})
        await until(lambda: handled)
        upload.future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upload.future
    assert handled == [(THUMBNAILS, 90902949)]


async def test_messages_of_a_channel_are_handled_in_order(layer) -> None:
    async with Running(layer):
        for n in range(30):
            await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": n})
        await until(lambda: len(handled) == 30)
    assert [n for _, n in handled] == list(range(30))


async def test_message_without_type_is_logged_and_dropped(layer, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="gateway.worker"):
        async with Running(layer):
            await layer.send(THUMBNAILS, {"id": 1})
            await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": 2})
            await until(lambda: handled)
    assert handled == [(THUMBNAILS, 2)]
    [record] = [r for r in caplog.records if r.name == "gateway.worker"]
    assert "without a 'type' key" in record.getMessage()
    assert THUMBNAILS in record.getMessage()


async def test_a_failing_handler_is_logged_and_a_new_instance_takes_the_next(layer, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        async with Running(layer):
            await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": "boom"})
            await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": 3})
            await until(lambda: handled)
    assert handled == [(THUMBNAILS, 3)]
    errors = [r for r in caplog.records if r.name == "gateway.runtime"]
    assert "cannot generate thumbnail boom" in str(errors[0].exc_info[1])
    assert "channel='myproject.thumbnail_notifications'" in errors[0].getMessage()


async def test_sending_to_a_client_from_a_worker_consumer_is_an_error(layer, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        async with Running(layer):
            await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": "reply"})
            await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": 4})
            await until(lambda: handled)
    assert handled == [(THUMBNAILS, 4)]
    assert "use self.channel_layer.send()" in caplog.text


async def test_a_blocked_channel_does_not_delay_another(layer) -> None:
    async with Running(layer, THUMBNAILS, "other"):
        await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": "slow", "gate": "g"})
        await layer.send("other", {"type": "thumbnail.generate", "id": "fast"})
        await until(lambda: handled)
        assert handled == [("other", "fast")]
        gates["g"].set()
        await until(lambda: len(handled) == 2)
    assert handled[1] == (THUMBNAILS, "slow")


async def test_stop_lets_the_running_handler_finish(layer) -> None:
    running = Running(layer)
    gate = gates["g"] = asyncio.Event()
    async with running as worker:
        await layer.send(THUMBNAILS, {"type": "thumbnail.generate", "id": 5, "gate": "g"})
        await until(lambda: worker.runtime is not None and worker.runtime.get(THUMBNAILS))
        scope = worker.runtime.get(THUMBNAILS)
        await until(lambda: scope.queued == 0 and worker.runtime.in_flight == 1)
        running.stop.set()
        await until(lambda: scope.closed)  # shutdown has begun; the handler is still running
        assert handled == []
        gate.set()
    assert handled == [(THUMBNAILS, 5)]
    assert worker.runtime.open_scopes == 0


async def test_a_layer_error_ends_the_worker_with_that_error(layer) -> None:
    class BrokenLayer(InMemoryChannelLayer):
        async def receive(self, channel: str) -> dict[str, Any]:
            raise ConnectionError("redis went away")

    worker = Worker(application, [THUMBNAILS], BrokenLayer())
    with pytest.raises(ConnectionError, match="redis went away"):
        await worker.run(asyncio.Event())


def test_a_worker_needs_channels() -> None:
    with pytest.raises(ValueError, match="at least one channel"):
        Worker(application, [], InMemoryChannelLayer())
