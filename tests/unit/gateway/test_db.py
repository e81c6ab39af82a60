"""database_sync_to_async: runs in a worker thread, closing old connections around the call."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections
from django.test import TestCase

import gateway.db
from gateway.consumer import SyncConsumer
from gateway.db import database_sync_to_async
from gateway.testing import ApplicationCommunicator


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each close_old_connections() call made by gateway.db (and still run it)."""
    recorded: list[str] = []

    def recording_close() -> None:
        recorded.append("close")
        close_old_connections()

    monkeypatch.setattr(gateway.db, "close_old_connections", recording_close)
    return recorded


@pytest.mark.django_db(transaction=True)
async def test_connections_are_cleaned_before_and_after_the_call(events: list[str]) -> None:
    @database_sync_to_async
    def work(value: int) -> int:
        events.append("call")
        return value * 2

    assert await work(21) == 42
    assert events == ["close", "call", "close"]


@pytest.mark.django_db(transaction=True)
async def test_cleanup_runs_even_when_the_call_fails(events: list[str]) -> None:
    @database_sync_to_async
    def fail() -> None:
        events.append("call")
        raise LookupError("not there")

    with pytest.raises(LookupError, match="not there"):
        await fail()
    assert events == ["close", "call", "close"]


@pytest.mark.django_db(transaction=True)
async def test_runs_orm_code_in_a_worker_thread() -> None:
    username = f"db-{uuid.uuid4().hex[:12]}"

    @database_sync_to_async
    def create() -> int:
        User.objects.create(username=username)
        return threading.get_ident()

    assert await create() != threading.get_ident()
    assert await database_sync_to_async(User.objects.filter(username=username).count)() == 1


class CountUsers(SyncConsumer):
    """Answers each request with the number of users, read through the ORM."""

    def app_count(self, message: dict[str, Any]) -> None:
        self.send({"type": "app.users", "count": User.objects.count()})


@pytest.mark.django_db(transaction=True)
async def test_a_communicators_application_keeps_the_connections(events: list[str]) -> None:
    # Channels' communicators patch close_old_connections out while they run, so that a
    # Django TestCase's connection (holding the test's transaction) survives the consumer.
    communicator = ApplicationCommunicator(CountUsers.as_asgi(), {"type": "app"})
    await communicator.send_input({"type": "app.count"})
    assert (await communicator.receive_output())["type"] == "app.users"
    communicator.stop()
    assert events == []

    # Outside the communicator's application the clean-ups still run.
    await database_sync_to_async(User.objects.count)()
    assert events == ["close", "close"]


class CommunicatorInTestCase(TestCase):
    """A Django TestCase: the consumer sees the test's uncommitted rows on the test's own
    connection, and the test can query again after the communicator."""

    def setUp(self) -> None:
        User.objects.create(username="in-the-test-transaction")

    async def test_consumer_reads_the_test_transaction(self) -> None:
        communicator = ApplicationCommunicator(CountUsers.as_asgi(), {"type": "app"})
        await communicator.send_input({"type": "app.count"})
        self.assertEqual((await communicator.receive_output())["count"], 1)
        await communicator.send_input({"type": "app.count"})
        self.assertEqual((await communicator.receive_output())["count"], 1)
        communicator.stop()
        self.assertEqual(await User.objects.acount(), 1)
