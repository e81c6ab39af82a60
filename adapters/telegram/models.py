"""The Telegram adapter's durable state: inbox of updates, outbox of Bot API calls, lease, pauses.

Exactly-once rests on these tables (docs/specs/telegram.md, "Delivery guarantee"):

- an update is inserted into :class:`InboxUpdate` before Telegram is told we have it (the
  getUpdates offset moves past it, or the webhook answers 200); a retry inserts nothing new;
- when the application has handled it, its state becomes HANDLED in the same transaction that
  inserts the replies it produced into :class:`OutboxMessage`;
- the outbox is sent from there; a sent row is marked SENT with the time it went out, which is
  also how the flood limits' last minute survives a restart.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models


class InboxUpdate(models.Model):
    """One update as Telegram sent it, and how far its handling got."""

    PENDING = 0
    HANDLED = 1
    FAILED = 2
    IGNORED = 3
    STATES = [(PENDING, "pending"), (HANDLED, "handled"), (FAILED, "failed"), (IGNORED, "ignored")]

    #: Insertion order: the order updates are handled in (per chat).
    seq: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    update_id: models.BigIntegerField[int, int] = models.BigIntegerField(unique=True)
    data: models.JSONField[Any, Any] = models.JSONField()
    state: models.SmallIntegerField[int, int] = models.SmallIntegerField(
        choices=STATES, default=PENDING
    )
    chat_id: models.BigIntegerField[int | None, int | None] = models.BigIntegerField(
        null=True, blank=True
    )
    attempts: models.SmallIntegerField[int, int] = models.SmallIntegerField(default=0)
    received_at: models.DateTimeField[datetime.datetime, datetime.datetime] = models.DateTimeField(
        auto_now_add=True
    )
    error: models.TextField[str, str] = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["state", "seq"], name="telegram_inbox_state_seq")]

    def __str__(self) -> str:
        return f"update {self.update_id} (state {self.state})"


class OutboxMessage(models.Model):
    """One Bot API call to make for a chat (a reply part, an edit, a chat action...)."""

    PENDING = 0
    SENT = 1
    FAILED = 2
    STATES = [(PENDING, "pending"), (SENT, "sent"), (FAILED, "failed")]

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    chat_id: models.BigIntegerField[int, int] = models.BigIntegerField()
    #: The update whose handling produced it (None: sent outside an update, e.g. a room message).
    update_id: models.BigIntegerField[int | None, int | None] = models.BigIntegerField(
        null=True, blank=True
    )
    method: models.CharField[str, str] = models.CharField(max_length=64)
    params: models.JSONField[Any, Any] = models.JSONField()
    cost: models.FloatField[float, float] = models.FloatField(default=1.0)
    state: models.SmallIntegerField[int, int] = models.SmallIntegerField(
        choices=STATES, default=PENDING
    )
    created_at: models.FloatField[float, float] = models.FloatField(
        help_text="seconds since the epoch"
    )
    #: When Telegram accepted it (seconds since the epoch): rebuilds the flood windows.
    sent_at: models.FloatField[float | None, float | None] = models.FloatField(
        null=True, blank=True
    )
    error: models.TextField[str, str] = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["state", "id"], name="telegram_outbox_state_id"),
            models.Index(fields=["sent_at"], name="telegram_outbox_sent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.method} to chat {self.chat_id} (state {self.state})"


class Lease(models.Model):
    """Who handles the inbox and sends the outbox: one adapter process at a time."""

    name: models.CharField[str, str] = models.CharField(max_length=64, primary_key=True)
    owner: models.CharField[str, str] = models.CharField(max_length=200)
    expires_at: models.FloatField[float, float] = models.FloatField(
        help_text="seconds since the epoch"
    )

    def __str__(self) -> str:
        return f"lease {self.name} held by {self.owner}"


class Pause(models.Model):
    """A flood-control pause Telegram asked for (429 retry_after), kept across restarts.

    The row stays after the pause ends: it counts the 429s.
    """

    #: ``"*"`` for every chat, else the chat id.
    key: models.CharField[str, str] = models.CharField(max_length=32, primary_key=True)
    until: models.FloatField[float, float] = models.FloatField(help_text="seconds since the epoch")
    #: 429 answers seen for this key so far (shown on /status by every process).
    count: models.IntegerField[int, int] = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"pause {self.key} until {self.until}"
