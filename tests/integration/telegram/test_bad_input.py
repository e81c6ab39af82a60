"""The adapter in-process against the fake Bot API: update kinds it does not handle are
acknowledged and counted, a handler that keeps failing marks its update failed after
TELEGRAM_MAX_ATTEMPTS, nothing stops the loop, and a refused token stops the adapter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.telegram import metrics
from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.client import TokenRefused
from adapters.telegram.config import TelegramConfig
from adapters.telegram.models import InboxUpdate
from gateway.consumer import AsyncConsumer
from gateway.db import database_sync_to_async
from tests.integration.telegram.fakeapi import TOKEN, FakeBotApi

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class PickyBot(AsyncConsumer):
    """Echoes text, raises on "boom"."""

    async def telegram_message(self, event: dict[str, Any]) -> None:
        if event["text"] == "boom":
            raise RuntimeError("boom on purpose")
        await self.send({"type": "telegram.message", "text": f"ok {event['text']}"})


def message(update_id: int, text: str, chat: int = 1) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat, "type": "private"},
            "text": text,
        },
    }


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


async def eventually(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@database_sync_to_async
def states() -> dict[int, tuple[int, int, str]]:
    rows = InboxUpdate.objects.values_list("update_id", "state", "attempts", "error")
    return {uid: (state, attempts, error) for uid, state, attempts, error in rows}


async def test_unhandled_kinds_and_failing_handlers_do_not_stop_the_loop(api: FakeBotApi) -> None:
    ignored_before = metrics.ignored._value.get()
    failed_before = metrics.failed._value.get()
    api.add_update(message(1, "a"))
    api.add_update(
        {
            "update_id": 2,
            "inline_query": {
                "id": "i",
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "query": "q",
                "offset": "",
            },
        }
    )
    api.add_update(message(3, "boom"))
    api.add_update(message(4, "b"))
    api.add_update({"update_id": 5, "message": {"chat": "not a chat"}})
    api.add_update(message(6, "c", chat=2))
    config = TelegramConfig(
        token=TOKEN, api_url=api.url, poll_timeout=1, per_chat_per_second=0, overall_per_second=0
    )
    adapter = TelegramAdapter(config, shutdown_timeout=5)
    stop = asyncio.Event()
    serving = asyncio.ensure_future(adapter.serve(PickyBot.as_asgi(), stop))

    async def settled() -> bool:
        done = await states()
        return len(done) == 6 and all(state != InboxUpdate.PENDING for state, _, _ in done.values())

    await eventually(settled)
    await eventually(lambda: _true(len([c for c in api.calls if c.method == "sendMessage"]) >= 3))
    stop.set()
    await asyncio.wait_for(serving, 20)
    final = await states()
    assert final[1][0] == final[4][0] == final[6][0] == InboxUpdate.HANDLED
    assert final[2][0] == InboxUpdate.IGNORED
    assert final[5][0] == InboxUpdate.IGNORED and "not a Telegram update" in final[5][2]
    assert final[3][:2] == (InboxUpdate.FAILED, 3) and "boom on purpose" in final[3][2]
    texts = sorted(c.params["text"] for c in api.calls if c.method == "sendMessage")
    assert texts == ["ok a", "ok b", "ok c"]
    assert api.state.confirmed == 7  # every update acknowledged to Telegram
    assert metrics.ignored._value.get() - ignored_before == 1
    assert metrics.failed._value.get() - failed_before == 1


async def _true(value: bool) -> bool:
    return value


async def test_refused_token_stops_the_adapter_with_what_to_do(api: FakeBotApi) -> None:
    config = TelegramConfig(token="999:" + "x" * 35, api_url=api.url)
    with pytest.raises(TokenRefused, match=r"refused TELEGRAM_BOT_TOKEN.*BotFather"):
        await asyncio.wait_for(
            TelegramAdapter(config).serve(PickyBot.as_asgi(), asyncio.Event()), 10
        )
