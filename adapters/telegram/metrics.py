"""Prometheus metrics of the Telegram adapter (served at /metrics, summarised on /status).

- ``gateway_telegram_updates_total{outcome}``: updates stored (``stored``; duplicates are not
  counted), then ``handled``, ``failed`` (the handler failed TELEGRAM_MAX_ATTEMPTS times),
  ``ignored`` (a kind the gateway does not handle) or ``invalid`` (not parseable).
- ``gateway_telegram_ignored_total{kind}``: ignored updates by kind (``inline_query``...).
- ``gateway_telegram_calls_total{result}``: outbox calls ``sent`` or ``failed``.
- ``gateway_telegram_throttled_total``: 429 answers (flood control) from the Bot API.
- ``gateway_telegram_outbox_queued``: calls waiting in the outbox of this process.
- ``gateway_telegram_outbox_age_seconds``: age of the oldest unsent call (0 when empty).
- ``gateway_telegram_webhook_requests_total{status}``: webhook answers by HTTP status.
- ``gateway_telegram_database``: rows in the inbox and outbox by ``table`` and ``state``, as
  read from the database (so every process shows the adapter's state, see status.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

UPDATES = Counter("gateway_telegram_updates", "Telegram updates by outcome.", ["outcome"])
IGNORED = Counter("gateway_telegram_ignored", "Telegram updates not handled, by kind.", ["kind"])
CALLS = Counter("gateway_telegram_calls", "Bot API calls from the outbox by result.", ["result"])
THROTTLED = Counter("gateway_telegram_throttled", "429 flood-control answers from the Bot API.")
OUTBOX_QUEUED = Gauge("gateway_telegram_outbox_queued", "Calls waiting in this process's outbox.")
OUTBOX_AGE = Gauge(
    "gateway_telegram_outbox_age_seconds", "Age of the oldest unsent outbox call (0: empty)."
)
WEBHOOK = Counter(
    "gateway_telegram_webhook_requests", "Webhook requests by answered status.", ["status"]
)
DATABASE = Gauge(
    "gateway_telegram_database", "Inbox and outbox rows by table and state.", ["table", "state"]
)

stored = UPDATES.labels(outcome="stored")
handled = UPDATES.labels(outcome="handled")
failed = UPDATES.labels(outcome="failed")
ignored = UPDATES.labels(outcome="ignored")
invalid = UPDATES.labels(outcome="invalid")
sent = CALLS.labels(result="sent")
send_failed = CALLS.labels(result="failed")
