"""The Telegram adapter on /status and /metrics, read from its database tables.

The adapter usually runs in its own process (the ``telegram`` dyno), while /status and
/metrics are served by the web processes; the inbox and outbox tables are what they share.
:func:`database_summary` reads them (one grouped query each) and sets the
``gateway_telegram_database{table,state}`` and ``gateway_telegram_outbox_age_seconds`` gauges.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Sum

from adapters.telegram import metrics
from adapters.telegram.models import InboxUpdate, OutboxMessage, Pause

_INBOX = dict(InboxUpdate.STATES)
_OUTBOX = dict(OutboxMessage.STATES)


def enabled() -> bool:
    """True when TELEGRAM_BOT_TOKEN is set (otherwise there is nothing to show)."""
    return bool(getattr(settings, "TELEGRAM_BOT_TOKEN", ""))


def database_summary(now: float | None = None) -> dict[str, Any]:
    """Counts by state, the oldest unsent call's age and an active 429 pause (blocking).

    Returns:
        ``{"updates": {state: n}, "outbox": {state: n}, "outbox_age_seconds": s,
        "paused_seconds": s, "throttled": n (429 answers so far)}``.
    """
    now = time.time() if now is None else now
    updates = {
        _INBOX[row["state"]]: row["n"]
        for row in InboxUpdate.objects.values("state").annotate(n=Count("seq"))
    }
    outbox = {
        _OUTBOX[row["state"]]: row["n"]
        for row in OutboxMessage.objects.values("state").annotate(n=Count("id"))
    }
    oldest = OutboxMessage.objects.filter(state=OutboxMessage.PENDING).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    pauses = Pause.objects.aggregate(until=Max("until"), throttled=Sum("count"))
    pause = pauses["until"] if pauses["until"] is not None and pauses["until"] > now else None
    age = max(0.0, now - oldest) if oldest is not None else 0.0
    for table, states, counts in (("inbox", _INBOX, updates), ("outbox", _OUTBOX, outbox)):
        for state in states.values():
            metrics.DATABASE.labels(table=table, state=state).set(counts.get(state, 0))
    metrics.OUTBOX_AGE.set(age)
    return {
        "updates": updates,
        "outbox": outbox,
        "outbox_age_seconds": round(age, 1),
        "paused_seconds": round(pause - now, 1) if pause is not None else 0.0,
        "throttled": int(pauses["throttled"] or 0),
    }
