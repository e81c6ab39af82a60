"""AsyncConsumer and SyncConsumer: dispatch, errors, stopping, layers, threads, as_asgi."""

from __future__ import annotations

import threading
import uuid

import pytest
from asgiref.testing import ApplicationCommunicator
from django.contrib.auth.models import User

from gateway.consumer import AsyncConsumer, SyncConsumer
from gateway.db import database_sync_to_async
from gateway.exceptions import ConfigurationError, StopConsumer, UnknownEventType

SCOPE = {"type": "test"}


class EchoConsumer(AsyncConsumer):
    """Replies to test.ping with test.pong; reports its channel; stops on test.stop."""

    async def test_ping(self, message):
        await self.send({"type": "test.pong", "text": message.get("text")})

    async def test_whoami(self, message):
        await self.send({"type": "test.channel", "channel": self.channel_name})

    async def test_stop(self, message):
        raise StopConsumer

    async def test_fail(self, message):
        raise RuntimeError("handler blew up")

    async def layer_hello(self, message):
        await self.send({"type": "test.from_layer", "text": message["text"]})

    async def test_thread(self, message):
        await self.send({"type": "test.thread", "ident": threading.get_ident()})


class SyncEchoConsumer(SyncConsumer):
    def test_ping(self, message):
        self.send({"type": "test.pong", "text": message.get("text")})

    def test_thread(self, message):
        self.send({"type": "test.thread", "ident": threading.get_ident()})

    def test_whoami(self, message):
        self.send({"type": "test.channel", "channel": self.channel_name})

    def layer_hello(self, message):
        self.send({"type": "test.from_layer", "text": message["text"]})

    def test_fail(self, message):
        raise RuntimeError("sync handler blew up")

    def test_stop(self, message):
        raise StopConsumer

    def db_create(self, message):
        User.objects.create(username=message["username"])
        self.send({"type": "db.created", "count": User.objects.count()})


# Sync consumers close stale database connections around every handler, as in Channels, so
# their tests need database access.
needs_db = pytest.mark.django_db(transaction=True)


@pytest.fixture(
    params=[
        pytest.param(EchoConsumer, id="async"),
        pytest.param(SyncEchoConsumer, id="sync", marks=needs_db),
    ]
)
def consumer_class(request: pytest.FixtureRequest) -> type[AsyncConsumer]:
    return request.param


async def test_events_are_dispatched_to_methods_named_after_their_type(consumer_class) -> None:
    communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
    for text in ("one", "two"):
        await communicator.send_input({"type": "test.ping", "text": text})
        assert await communicator.receive_output() == {"type": "test.pong", "text": text}
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()


async def test_stop_consumer_ends_the_instance_cleanly(consumer_class) -> None:
    communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()
    assert communicator.future.done()
    assert communicator.future.exception() is None
    assert await communicator.receive_nothing()


async def test_unknown_type_names_the_type_the_class_and_the_method(consumer_class) -> None:
    communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
    await communicator.send_input({"type": "chat.new_member"})
    with pytest.raises(UnknownEventType) as caught:
        await communicator.receive_output()
    text = str(caught.value)
    assert "'chat.new_member'" in text
    assert consumer_class.__name__ in text
    assert "chat_new_member(self, message)" in text


@needs_db
async def test_unknown_type_tells_sync_and_async_apart() -> None:
    for consumer_class, keyword in ((EchoConsumer, "`async def "), (SyncEchoConsumer, "`def ")):
        communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
        await communicator.send_input({"type": "nope"})
        with pytest.raises(UnknownEventType, match=keyword):
            await communicator.receive_output()


async def test_a_leading_underscore_never_reaches_a_private_method(consumer_class) -> None:
    communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
    await communicator.send_input({"type": "_get_handler"})
    with pytest.raises(UnknownEventType, match="leading underscore"):
        await communicator.receive_output()


async def test_an_exception_in_a_handler_reaches_the_caller(consumer_class) -> None:
    communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
    await communicator.send_input({"type": "test.fail"})
    with pytest.raises(RuntimeError, match="blew up"):
        await communicator.receive_output()


async def test_layer_messages_are_dispatched_like_events(consumer_class) -> None:
    communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
    await communicator.send_input({"type": "test.whoami"})
    reply = await communicator.receive_output()
    channel_name = reply["channel"]
    assert channel_name

    from gateway.layers import get_channel_layer

    layer = get_channel_layer()
    await layer.send(channel_name, {"type": "layer.hello", "text": "from afar"})
    assert await communicator.receive_output() == {"type": "test.from_layer", "text": "from afar"}
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()


async def test_stopping_leaves_nothing_waiting_on_the_channel(consumer_class, layer) -> None:
    communicator = ApplicationCommunicator(consumer_class.as_asgi(), SCOPE)
    await communicator.send_input({"type": "test.whoami"})
    channel_name = (await communicator.receive_output())["channel"]
    # Now the consumer waits on the client and on its channel.
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()
    assert communicator.future.exception() is None
    assert set(layer.listened_on()) == {channel_name}
    assert not layer.anyone_waiting(channel_name)


async def test_an_event_queued_after_stop_is_not_handled() -> None:
    communicator = ApplicationCommunicator(EchoConsumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "test.stop"})
    await communicator.send_input({"type": "test.ping", "text": "too late"})
    await communicator.wait()
    assert communicator.future.exception() is None
    assert communicator.output_queue.empty()


async def test_async_handlers_run_on_the_event_loop_thread() -> None:
    communicator = ApplicationCommunicator(EchoConsumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "test.thread"})
    reply = await communicator.receive_output()
    assert reply["ident"] == threading.get_ident()
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()


@needs_db
async def test_sync_handlers_run_in_a_worker_thread() -> None:
    communicator = ApplicationCommunicator(SyncEchoConsumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "test.thread"})
    reply = await communicator.receive_output()
    assert reply["ident"] != threading.get_ident()
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()


@needs_db
async def test_sync_handlers_can_use_the_orm() -> None:
    username = f"user-{uuid.uuid4().hex[:12]}"
    communicator = ApplicationCommunicator(SyncEchoConsumer.as_asgi(), SCOPE)
    await communicator.send_input({"type": "db.create", "username": username})
    reply = await communicator.receive_output()
    assert reply["type"] == "db.created"
    assert reply["count"] >= 1
    exists = database_sync_to_async(User.objects.filter(username=username).exists)
    assert await exists()
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()


def test_as_asgi_exposes_the_class_and_initkwargs() -> None:
    app = EchoConsumer.as_asgi(channel_layer_alias="other")
    assert app.consumer_class is EchoConsumer
    assert app.consumer_initkwargs == {"channel_layer_alias": "other"}
    assert app.__name__ == "EchoConsumer"


async def test_initkwargs_set_attributes_on_each_instance() -> None:
    class Greeter(AsyncConsumer):
        greeting = "hello"

        async def test_greet(self, message):
            await self.send({"type": "test.greeting", "text": self.greeting})
            raise StopConsumer

    communicator = ApplicationCommunicator(Greeter.as_asgi(greeting="ahoy"), SCOPE)
    await communicator.send_input({"type": "test.greet"})
    assert await communicator.receive_output() == {"type": "test.greeting", "text": "ahoy"}
    await communicator.wait()
    assert Greeter.greeting == "hello"


@pytest.mark.parametrize("keyword", ["no_such_attribute", "_sync"])
def test_as_asgi_rejects_unknown_or_private_keywords(keyword: str) -> None:
    with pytest.raises(ConfigurationError, match=f"unknown keyword '{keyword}'"):
        EchoConsumer.as_asgi(**{keyword: 1})


async def test_without_a_configured_layer_there_is_no_channel(consumer_class) -> None:
    app = consumer_class.as_asgi(channel_layer_alias=f"missing-{uuid.uuid4().hex}")
    communicator = ApplicationCommunicator(app, SCOPE)
    await communicator.send_input({"type": "test.whoami"})
    assert await communicator.receive_output() == {"type": "test.channel", "channel": None}
    await communicator.send_input({"type": "test.stop"})
    await communicator.wait()
