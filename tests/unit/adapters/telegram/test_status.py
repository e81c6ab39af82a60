"""/status and /metrics show the Telegram adapter from its tables (any process)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from adapters.telegram import store
from adapters.telegram.models import InboxUpdate, OutboxMessage
from adapters.telegram.status import database_summary
from gateway.testing import HttpCommunicator
from project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def fill() -> None:
    store.store_updates([{"update_id": n, "message": {}} for n in (1, 2, 3)])
    store.commit_outcomes(
        [store.Outcome(1, InboxUpdate.HANDLED), store.Outcome(2, InboxUpdate.IGNORED)],
        [(5, "sendMessage", {"chat_id": 5, "text": "a"}, 1.0)] * 2,
    )
    first = OutboxMessage.objects.order_by("id").first()
    assert first is not None
    store.mark_sent([(first.id, 1000.0)], [])
    store.save_pause("*", 1010.0)
    store.save_pause("*", 1005.0)


def test_summary_counts_by_state_age_and_429s() -> None:
    fill()
    pending = OutboxMessage.objects.get(state=OutboxMessage.PENDING)
    summary = database_summary(now=pending.created_at + 7.0)
    assert summary["updates"] == {"pending": 1, "handled": 1, "ignored": 1}
    assert summary["outbox"] == {"sent": 1, "pending": 1}
    assert summary["outbox_age_seconds"] == 7.0
    assert summary["throttled"] == 2 and summary["paused_seconds"] == 0.0


@override_settings(
    TELEGRAM_BOT_TOKEN="123:" + "a" * 35, ALLOWED_HOSTS=["testserver"], METRICS_TOKEN="t0ken"
)
async def test_status_json_and_metrics_include_telegram() -> None:
    await sync_to_async(fill)()
    response = await HttpCommunicator(application, "GET", "/status.json").get_response()
    data = json.loads(response["body"])
    assert data["telegram"]["updates"]["handled"] == 1 and data["telegram"]["outbox"]["sent"] == 1
    # /metrics answers only its bearer token (main's deployment work).
    response = await HttpCommunicator(
        application, "GET", "/metrics", headers=[(b"authorization", b"Bearer t0ken")]
    ).get_response()
    assert b'gateway_telegram_database{state="pending",table="outbox"} 1.0' in response["body"]
