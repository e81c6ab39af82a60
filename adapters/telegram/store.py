"""Database operations on the inbox, outbox, lease and pauses (blocking: run them in a thread).

Every function is one short transaction. :class:`Database` runs them on one dedicated thread
so the adapter's writes are serialised on one connection (SQLite allows one writer anyway)
and the event loop never blocks on the database.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from adapters.telegram.models import InboxUpdate, Lease, OutboxMessage, Pause

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

LEASE_NAME = "telegram"
#: Sent rows are kept this long: the flood windows of the last minute are rebuilt from them.
SENT_RETENTION = 120.0
#: Handled updates are kept this long: Telegram keeps undelivered updates for 24 hours, so a
#: webhook retry or an old offset can bring one back within that time.
INBOX_RETENTION = 2 * 24 * 3600.0


class Database:
    """Runs the blocking functions of this module on one thread of their own."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="telegram-db")

    async def run(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``function(*args)`` on the database thread and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: _call(function, args, kwargs))

    def close(self) -> None:
        """Close the thread's connection and stop the thread."""
        self._executor.submit(connection.close)
        self._executor.shutdown(wait=True)


def _call(function: Callable[..., R], args: Any, kwargs: Any) -> R:
    try:
        return function(*args, **kwargs)
    except Exception:
        # A broken connection must not stay cached in this thread: the next call reconnects.
        close_old_connections()
        if connection.connection is not None and not connection.is_usable():
            connection.close()
        raise


# --- inbox ---------------------------------------------------------------------------------


def store_updates(updates: Iterable[dict[str, Any]]) -> int:
    """Insert updates not seen before; return how many were new. Duplicates are skipped."""
    rows = {update["update_id"]: update for update in updates}
    if not rows:
        return 0
    with transaction.atomic():
        seen = set(
            InboxUpdate.objects.filter(update_id__in=list(rows)).values_list("update_id", flat=True)
        )
        new = [
            InboxUpdate(update_id=uid, data=data) for uid, data in rows.items() if uid not in seen
        ]
        # ignore_conflicts: another process (a second web worker) may insert the same id.
        InboxUpdate.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@dataclass(frozen=True)
class PendingUpdate:
    """A stored update not handled yet."""

    seq: int
    update_id: int
    data: dict[str, Any]
    attempts: int


def pending_updates(after_seq: int, limit: int) -> list[PendingUpdate]:
    """Pending updates with ``seq > after_seq``, oldest first."""
    rows = (
        InboxUpdate.objects.filter(state=InboxUpdate.PENDING, seq__gt=after_seq)
        .order_by("seq")
        .values_list("seq", "update_id", "data", "attempts")[:limit]
    )
    return [PendingUpdate(*row) for row in rows]


@dataclass
class Outcome:
    """How one update ended, and the calls it produced (committed together)."""

    update_id: int
    state: int
    chat_id: int | None = None
    attempts: int = 1
    error: str = ""
    #: (chat_id, method, params, cost) for each call to put in the outbox.
    calls: list[tuple[int, str, dict[str, Any], float]] | None = None


@dataclass(frozen=True)
class QueuedCall:
    """An outbox row to send."""

    id: int
    chat_id: int
    method: str
    params: dict[str, Any]
    cost: float


def commit_outcomes(
    outcomes: list[Outcome], direct: list[tuple[int, str, dict[str, Any], float]]
) -> list[QueuedCall]:
    """Mark updates handled/failed/ignored and insert their calls, in ONE transaction.

    ``direct`` are calls made outside any update (committed in the same transaction).
    Returns the inserted outbox rows as :class:`QueuedCall`, in insertion order.
    """
    now = time.time()
    new_rows: list[OutboxMessage] = []
    with transaction.atomic():
        by_state: dict[int, list[int]] = {}
        for outcome in outcomes:
            if outcome.error or outcome.chat_id is not None:
                InboxUpdate.objects.filter(update_id=outcome.update_id).update(
                    state=outcome.state,
                    chat_id=outcome.chat_id,
                    attempts=outcome.attempts,
                    error=outcome.error[:2000],
                )
            else:
                by_state.setdefault(outcome.state, []).append(outcome.update_id)
            for chat_id, method, params, cost in outcome.calls or ():
                new_rows.append(
                    OutboxMessage(
                        chat_id=chat_id,
                        update_id=outcome.update_id,
                        method=method,
                        params=params,
                        cost=cost,
                        created_at=now,
                    )
                )
        for state, ids in by_state.items():
            InboxUpdate.objects.filter(update_id__in=ids).update(state=state)
        for chat_id, method, params, cost in direct:
            new_rows.append(
                OutboxMessage(
                    chat_id=chat_id, method=method, params=params, cost=cost, created_at=now
                )
            )
        created = OutboxMessage.objects.bulk_create(new_rows)
    return [QueuedCall(r.id, r.chat_id, r.method, r.params, r.cost) for r in created]


# --- outbox --------------------------------------------------------------------------------


def pending_calls() -> list[QueuedCall]:
    """Every outbox row not sent yet, oldest first (sent after a restart)."""
    rows = OutboxMessage.objects.filter(state=OutboxMessage.PENDING).order_by("id")
    return [
        QueuedCall(*row)
        for row in rows.values_list("id", "chat_id", "method", "params", "cost").iterator()
    ]


def mark_sent(sent: list[tuple[int, float]], failed: list[tuple[int, str]]) -> None:
    """Record calls Telegram accepted (id, when) and calls that finally failed (id, why)."""
    with transaction.atomic():
        # One UPDATE per distinct second would save little: ids are few per batch.
        for row_id, when in sent:
            OutboxMessage.objects.filter(id=row_id).update(state=OutboxMessage.SENT, sent_at=when)
        for row_id, why in failed:
            OutboxMessage.objects.filter(id=row_id).update(
                state=OutboxMessage.FAILED, error=why[:2000]
            )


def recent_sends(since: float) -> list[tuple[int, float, float]]:
    """(chat_id, sent_at, cost) of calls sent since ``since`` (epoch seconds), oldest first."""
    rows = OutboxMessage.objects.filter(state=OutboxMessage.SENT, sent_at__gte=since)
    return list(rows.order_by("sent_at").values_list("chat_id", "sent_at", "cost"))


def outbox_oldest_pending() -> float | None:
    """``created_at`` of the oldest unsent row, or None."""
    row = (
        OutboxMessage.objects.filter(state=OutboxMessage.PENDING)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    return row


def prune(now: float) -> tuple[int, int]:
    """Delete sent/failed outbox rows and finished updates past their retention."""
    with transaction.atomic():
        outbox, _ = OutboxMessage.objects.filter(
            state__in=[OutboxMessage.SENT, OutboxMessage.FAILED],
            created_at__lt=now - SENT_RETENTION,
        ).delete()
        cutoff = _datetime(now - INBOX_RETENTION)
        inbox, _ = (
            InboxUpdate.objects.exclude(state=InboxUpdate.PENDING)
            .filter(received_at__lt=cutoff)
            .delete()
        )
    return outbox, inbox


def _datetime(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)


# --- pauses --------------------------------------------------------------------------------


def save_pause(key: str, until: float) -> None:
    """Remember a 429 pause (``key`` "*" for everything) until ``until`` (epoch seconds)."""
    with transaction.atomic():
        updated = Pause.objects.filter(key=key).update(
            until=Greatest(F("until"), until), count=F("count") + 1
        )
        if not updated:
            Pause.objects.create(key=key, until=until, count=1)


def active_pauses(now: float) -> list[tuple[str, float]]:
    """Pauses that have not ended yet: (key, until)."""
    return list(Pause.objects.filter(until__gt=now).values_list("key", "until"))


# --- lease ---------------------------------------------------------------------------------


def acquire_lease(
    owner: str, now: float, seconds: float, holder_dead: Callable[[str], bool] = lambda _: False
) -> tuple[bool, str, float]:
    """Take or renew the adapter lease; returns (ok, current holder, its expiry).

    The lease is taken over when it expired, or when ``holder_dead(owner)`` says its holder
    is a process of this machine that no longer exists (a restart after SIGKILL).
    """
    with transaction.atomic():
        lease = Lease.objects.select_for_update().filter(name=LEASE_NAME).first()
        if lease is None:
            Lease.objects.bulk_create(
                [Lease(name=LEASE_NAME, owner=owner, expires_at=now + seconds)],
                ignore_conflicts=True,
            )
            lease = Lease.objects.get(name=LEASE_NAME)
            return lease.owner == owner, lease.owner, lease.expires_at
        if lease.owner == owner or lease.expires_at <= now or holder_dead(lease.owner):
            lease.owner, lease.expires_at = owner, now + seconds
            lease.save(update_fields=["owner", "expires_at"])
            return True, owner, lease.expires_at
        return False, lease.owner, lease.expires_at


def release_lease(owner: str) -> None:
    """Give the lease up at a clean shutdown, so a successor starts at once."""
    Lease.objects.filter(name=LEASE_NAME, owner=owner).update(expires_at=0.0)
