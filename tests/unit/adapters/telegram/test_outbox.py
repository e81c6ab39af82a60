"""The outbox sender on a FakeClock: flood windows per chat, per group and overall, 429 pauses,
permanent refusals, and the windows rebuilt from the database at a restart."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from telegram import error as tg_error

from adapters.telegram import store
from adapters.telegram.config import TelegramConfig
from adapters.telegram.models import OutboxMessage, Pause
from adapters.telegram.outbox import Outbox, limiter_for
from gateway.clock import FakeClock

TOKEN = "123:" + "a" * 35
pytestmark = pytest.mark.django_db(transaction=True)


class RecordingClient:
    """Stands in for the Bot API: records (clock time, chat, text); can fail on cue."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, int, str]] = []
        self.failures: list[BaseException] = []

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((self.clock.time(), params["chat_id"], params.get("text", "")))
        return True


def config(**limits: Any) -> TelegramConfig:
    return TelegramConfig(token=TOKEN, limit_margin=0.0, **limits)


async def queue(outbox: Outbox, database: store.Database, chat: int, *texts: str) -> None:
    calls = [(chat, "sendMessage", {"chat_id": chat, "text": text}, 1.0) for text in texts]
    rows = await database.run(store.commit_outcomes, [], calls)
    outbox.enqueue(rows)


async def run_until(
    clock: FakeClock, client: RecordingClient, count: int, step: float = 0.05
) -> None:
    for _ in range(20000):
        await clock.settle()
        if len(client.sent) >= count:
            return
        clock.advance(step)
    raise AssertionError(f"only {len(client.sent)} of {count} sent")


def test_limiter_windows_by_chat_kind() -> None:
    limiter = limiter_for(
        config(overall_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    )
    assert [w.limit for w in limiter.windows_for(5)] == [1]
    assert [(w.limit, w.seconds) for w in limiter.windows_for(-100)] == [(1, 1.0), (20, 60.0)]
    off = limiter_for(config(overall_per_second=0, per_chat_per_second=0, per_group_per_minute=0))
    assert off.windows_for(-100) == () and off.overall == ()


async def test_per_chat_and_per_group_windows_on_a_fake_clock() -> None:
    clock = FakeClock()
    client = RecordingClient(clock)
    database = store.Database()
    outbox = Outbox(client, database, config(per_group_per_minute=2), clock=clock)  # type: ignore[arg-type]
    await queue(outbox, database, 5, "a", "b", "c")
    await queue(outbox, database, -7, "x", "y", "z")
    await run_until(clock, client, 6)
    private = [t for t, chat, _ in client.sent if chat == 5]
    group = [t for t, chat, _ in client.sent if chat == -7]
    assert [text for _, chat, text in client.sent if chat == 5] == ["a", "b", "c"]
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(private))
    assert group[1] - group[0] >= 1.0 and group[2] - group[0] >= 60.0  # 2 a minute
    assert private[-1] < group[-1]  # the group's backlog never held the private chat back
    await outbox.close(drain_timeout=1)
    sent = await database.run(
        lambda: OutboxMessage.objects.filter(state=OutboxMessage.SENT).count()
    )
    assert sent == 6
    database.close()


async def test_429_pauses_every_chat_and_is_kept_for_a_restart() -> None:
    clock = FakeClock()
    client = RecordingClient(clock)
    client.failures.append(tg_error.RetryAfter(3))
    database = store.Database()
    outbox = Outbox(client, database, config(), clock=clock)  # type: ignore[arg-type]
    await queue(outbox, database, 5, "a")
    await queue(outbox, database, 6, "b")
    await run_until(clock, client, 2)
    assert min(t for t, _, _ in client.sent) >= 3.0  # both chats waited the retry_after
    pauses = await database.run(lambda: list(Pause.objects.values_list("key", "until")))
    assert pauses and pauses[0][0] == "*" and pauses[0][1] > time.time() + 1
    await outbox.close(drain_timeout=1)
    database.close()


async def test_refused_call_is_marked_failed_not_retried() -> None:
    clock = FakeClock()
    client = RecordingClient(clock)
    client.failures.append(tg_error.Forbidden("bot was blocked by the user"))
    database = store.Database()
    outbox = Outbox(client, database, config(), clock=clock)  # type: ignore[arg-type]
    await queue(outbox, database, 5, "a", "b")
    await run_until(clock, client, 1)
    await outbox.close(drain_timeout=1)
    states = await database.run(
        lambda: list(OutboxMessage.objects.order_by("id").values_list("state", "error"))
    )
    assert states[0][0] == OutboxMessage.FAILED and "blocked" in states[0][1]
    assert states[1] == (OutboxMessage.SENT, "")
    database.close()


async def test_restart_rebuilds_windows_from_sent_marks_and_unsent_rows() -> None:
    database = store.Database()
    now = time.time()
    # Before the "crash": chat 5 sent 0.2 s ago (marked); chat 6 has a row that may have been
    # in flight (unmarked); a 429 pause runs 2 s more.
    await database.run(
        lambda: OutboxMessage.objects.create(
            chat_id=5,
            method="sendMessage",
            params={},
            state=OutboxMessage.SENT,
            created_at=now,
            sent_at=now - 0.2,
        )
    )
    await queue(Outbox(RecordingClient(FakeClock()), database, config()), database, 6, "again")  # type: ignore[arg-type]
    await database.run(store.save_pause, "5", now + 2.0)
    clock = FakeClock(start=100.0)
    client = RecordingClient(clock)
    outbox = Outbox(client, database, config(), clock=clock)  # type: ignore[arg-type]
    await outbox.restore()
    assert outbox.limiter.delay(5, 100.0) >= 0.7  # the marked send 0.2 s ago still counts
    assert outbox.limiter.delay(6, 100.0) >= 0.9  # the unmarked one counts as sent now
    await queue(outbox, database, 5, "after restart")
    await run_until(clock, client, 2)
    sent = {text: t for t, _, text in client.sent}
    assert sent["again"] >= 101.0 and sent["after restart"] >= 101.9
    await outbox.close(drain_timeout=1)
    database.close()
