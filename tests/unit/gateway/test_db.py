"""database_sync_to_async: runs in a worker thread, closing old connections around the call."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections

import gateway.db
from gateway.db import database_sync_to_async


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
