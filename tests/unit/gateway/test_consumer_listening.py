"""When a consumer listens on its channel: from the first read of ``channel_name`` on.

Until then nobody can have sent to the channel, so the dispatch loop waits on the client
alone, in the consumer's own task (no task, no pending channel-layer receive per connection).
"""

from __future__ import annotations

import asyncio

import pytest

from gateway.consumer import AsyncConsumer
from gateway.exceptions import StopConsumer

SCOPE = {"type": "test"}


class PingConsumer(AsyncConsumer):
    """Answers test.ping; relays layer.hello; stops on test.stop. Never reads channel_name."""

    async def test_ping(self, message):
        await self.send({"type": "test.pong"})

    async def layer_hello(self, message):
        await self.send({"type": "test.from_layer", "text": message["text"]})

    async def test_stop(self, message):
        raise StopConsumer


class Client:
    """Runs a consumer instance in a task, with queues for its input and output."""

    def __init__(self, consumer: AsyncConsumer) -> None:
        self.consumer = consumer
        self.input: asyncio.Queue[dict] = asyncio.Queue()
        self.output: asyncio.Queue[dict] = asyncio.Queue()
        self.task = asyncio.create_task(consumer(SCOPE, self.input.get, self.output.put))

    async def ask(self, message: dict) -> dict:
        self.input.put_nowait(message)
        return await asyncio.wait_for(self.output.get(), 5)

    async def stop(self) -> None:
        self.input.put_nowait({"type": "test.stop"})
        await asyncio.wait_for(self.task, 5)


async def test_a_consumer_that_never_hands_out_its_channel_waits_on_the_client_only(layer):
    client = Client(PingConsumer())
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    await client.stop()
    assert layer.listened_on() == []


async def test_the_channel_name_exists_from_the_start_and_reading_it_starts_listening(layer):
    consumer = PingConsumer()
    client = Client(consumer)
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    # Read from outside any handler, while the loop waits on the client alone.
    name = consumer.channel_name
    assert name and name.startswith("specific.")
    await layer.send(name, {"type": "layer.hello", "text": "from afar"})
    reply = await asyncio.wait_for(client.output.get(), 5)
    assert reply == {"type": "test.from_layer", "text": "from afar"}
    # Client events still arrive, and stopping leaves nothing waiting on the channel.
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    await client.stop()
    assert set(layer.listened_on()) == {name}
    assert not layer.anyone_waiting(name)


async def test_reading_the_channel_name_from_another_thread_starts_listening(layer):
    consumer = PingConsumer()
    client = Client(consumer)
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    name = await asyncio.to_thread(lambda: consumer.channel_name)
    await layer.send(name, {"type": "layer.hello", "text": "threaded"})
    reply = await asyncio.wait_for(client.output.get(), 5)
    assert reply == {"type": "test.from_layer", "text": "threaded"}
    await client.stop()


async def test_an_event_queued_while_listening_starts_is_not_lost(layer):
    consumer = PingConsumer()
    client = Client(consumer)
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    name = consumer.channel_name  # schedules the interruption of the client wait
    client.input.put_nowait({"type": "test.ping"})  # arrives in the same loop iteration
    assert await asyncio.wait_for(client.output.get(), 5) == {"type": "test.pong"}
    await layer.send(name, {"type": "layer.hello", "text": "after"})
    assert (await asyncio.wait_for(client.output.get(), 5))["text"] == "after"
    await client.stop()


async def test_cancelling_the_consumer_while_listening_starts_still_cancels_it(layer):
    consumer = PingConsumer()
    client = Client(consumer)
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    consumer.channel_name  # noqa: B018 - the read schedules an interruption
    client.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await client.task


async def test_without_a_layer_there_is_no_channel_name(settings):
    settings.CHANNEL_LAYERS = {}
    consumer = PingConsumer()
    client = Client(consumer)
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    assert consumer.channel_name is None
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    await client.stop()


async def test_a_burst_on_the_channel_is_dispatched_in_order_between_client_events(layer):
    consumer = PingConsumer()
    client = Client(consumer)
    assert await client.ask({"type": "test.ping"}) == {"type": "test.pong"}
    name = consumer.channel_name
    for index in range(30):
        await layer.send(name, {"type": "layer.hello", "text": str(index)})
    client.input.put_nowait({"type": "test.ping"})
    replies = [await asyncio.wait_for(client.output.get(), 5) for _ in range(31)]
    texts = [reply["text"] for reply in replies if reply["type"] == "test.from_layer"]
    assert texts == [str(index) for index in range(30)]
    assert {"type": "test.pong"} in replies
    await client.stop()
