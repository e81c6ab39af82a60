"""The outbox sender: committed calls -> the Bot API, paced by the flood limits.

Each committed outbox row is put on the toolkit's :class:`~gateway.pacing.PacedSender` under
its chat id: per chat in order, chats independent, held to sliding windows (overall per
second, per chat per second, per group per minute, each with a safety margin). A 429 pauses
everything for ``retry_after`` and retries the same call; network errors and 5xx retry with
backoff; a call Telegram refuses (400, 403) or that fails every attempt is marked failed and
logged with its chat. A sent row is marked SENT with the time Telegram accepted it.

Across restarts (:meth:`Outbox.restore`): the windows are rebuilt from the rows sent in the
last minute; a call that was in flight when the process died (Telegram may have taken it,
we have no mark) counts as sent at restart time, once per chat with unsent rows; 429 pauses
are kept in the database until they end. So the limits hold right after a restart too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Sequence
from functools import partial

from telegram import error as tg_error

from adapters.telegram import metrics
from adapters.telegram.client import BotClient, retry_seconds
from adapters.telegram.config import TelegramConfig
from adapters.telegram.store import (
    Database,
    QueuedCall,
    active_pauses,
    mark_sent,
    pending_calls,
    recent_sends,
    save_pause,
)
from gateway.backoff import Backoff
from gateway.clock import Clock, LoopClock
from gateway.exceptions import OutboxClosed
from gateway.pacing import PacedSender, RateLimiter, RetryAfter, Window

logger = logging.getLogger(__name__)

#: The longest flood window: how far back the restart rebuilds the limiter.
HISTORY = 60.0


def limiter_for(config: TelegramConfig) -> RateLimiter:
    """The RateLimiter for Telegram's flood limits; a limit of 0 is off."""
    overall = [Window(config.overall_per_second, 1.0)] if config.overall_per_second else []
    per_chat = [Window(config.per_chat_per_second, 1.0)] if config.per_chat_per_second else []
    per_group = [Window(config.per_group_per_minute, 60.0)] if config.per_group_per_minute else []

    def per_key(key: Hashable) -> Sequence[Window]:
        # Group, supergroup and channel ids are negative; private chats positive.
        return per_chat + per_group if isinstance(key, int) and key < 0 else per_chat

    return RateLimiter(overall, per_key, margin=config.limit_margin)


class Outbox:
    """Sends committed outbox rows through a PacedSender and records what was sent.

    Args:
        client: the Bot API client.
        database: the adapter's database thread.
        config: limits and attempts.
        clock: the pacing clock (None: the loop's).
    """

    def __init__(
        self,
        client: BotClient,
        database: Database,
        config: TelegramConfig,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._db = database
        self._clock = clock or LoopClock()
        self.limiter = limiter_for(config)
        self.sender = PacedSender(
            self.limiter,
            self._transmit,
            name="telegram",
            clock=self._clock,
            max_attempts=config.send_attempts,
            backoff=lambda: Backoff("Telegram Bot API (send)", logger=logger),
            # Telegram refused the call itself: sending it again would be refused again.
            give_up_on=(tg_error.BadRequest, tg_error.Forbidden, tg_error.InvalidToken),
        )
        self._sent: list[tuple[int, float]] = []
        self._failed: list[tuple[int, str]] = []
        self._flush_wake = asyncio.Event()
        self._tasks: set[asyncio.Future[None]] = set()
        #: Rows put on the sender and not finished, with when they were queued (clock time).
        self._pending_rows: dict[int, float] = {}

    @property
    def queued(self) -> int:
        """Calls put on the sender and not finished yet."""
        return len(self._pending_rows)

    async def restore(self) -> None:
        """Rebuild the flood windows and pauses, then queue every unsent row (oldest first)."""
        now_wall, now = time.time(), self._clock.time()
        offset = now - now_wall  # wall seconds -> clock seconds
        for chat_id, sent_at, cost in await self._db.run(recent_sends, now_wall - HISTORY):
            self.limiter.record(chat_id, min(sent_at + offset, now), cost)
        rows = await self._db.run(pending_calls)
        in_flight_chats = {row.chat_id for row in rows}
        for chat_id in in_flight_chats:
            # A call of this chat may have reached Telegram just before the crash: count it.
            self.limiter.record(chat_id, now, 1.0)
        for key, until in await self._db.run(active_pauses, now_wall):
            self.limiter.pause(None if key == "*" else int(key), until + offset)
            logger.info("telegram flood pause for %s continues for %.1f s", key, until - now_wall)
        if rows:
            logger.info(
                "telegram outbox: %d unsent calls for %d chats from before the restart",
                len(rows),
                len(in_flight_chats),
            )
        self.enqueue(rows)

    def enqueue(self, rows: list[QueuedCall]) -> None:
        """Queue committed rows for sending (never blocks, never drops)."""
        for row in rows:
            self._pending_rows[row.id] = self._clock.time()
            future = self.sender.put(row.chat_id, row, row.cost)
            future.add_done_callback(partial(self._done, row))
        metrics.OUTBOX_QUEUED.set(len(self._pending_rows))

    async def _transmit(self, chat_id: Hashable, row: QueuedCall) -> None:
        try:
            await self._client.call(row.method, row.params)
        except tg_error.RetryAfter as exc:
            seconds = retry_seconds(exc)
            metrics.THROTTLED.inc()
            # Kept in the database so a restart keeps waiting (the sender logs the pause).
            # Raised first: the sender must pause every chat now, not after a database write.
            self._save_pause(time.time() + seconds)
            raise RetryAfter(seconds, key_only=False, message=f"429 on {row.method}") from exc
        except tg_error.ChatMigrated as exc:
            logger.info("chat %s became supergroup %s: resending there", chat_id, exc.new_chat_id)
            await self._client.call(row.method, {**row.params, "chat_id": exc.new_chat_id})

    def _save_pause(self, until: float) -> None:
        task = asyncio.ensure_future(self._db.run(save_pause, "*", until))
        self._tasks.add(task)
        task.add_done_callback(self._saved)

    def _saved(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("could not store the telegram flood pause: %s", task.exception())

    def _done(self, row: QueuedCall, future: asyncio.Future[None]) -> None:
        self._pending_rows.pop(row.id, None)
        metrics.OUTBOX_QUEUED.set(len(self._pending_rows))
        exc = None if future.cancelled() else future.exception()
        if future.cancelled() or isinstance(exc, OutboxClosed):
            return  # shutdown: still pending in the database, sent after the restart
        if exc is None:
            metrics.sent.inc()
            self._sent.append((row.id, time.time()))
        else:  # the sender logged it with the chat id
            metrics.send_failed.inc()
            self._failed.append((row.id, f"{row.method}: {type(exc).__name__}: {exc}"))
        self._flush_wake.set()

    async def flush_forever(self) -> None:
        """Write the sent and failed marks in batches."""
        backoff = Backoff("telegram outbox database", logger=logger)
        while True:
            await self._flush_wake.wait()
            self._flush_wake.clear()
            await self.flush(backoff)

    async def flush(self, backoff: Backoff | None = None) -> None:
        """Write the marks collected so far."""
        while self._sent or self._failed:
            sent, self._sent = self._sent, []
            failed, self._failed = self._failed, []
            try:
                await self._db.run(mark_sent, sent, failed)
            except Exception as exc:
                self._sent[:0], self._failed[:0] = sent, failed
                if backoff is None:
                    raise
                await backoff.wait(exc)
                continue
            if backoff is not None:
                backoff.succeeded()

    def oldest_age(self) -> float:
        """Seconds the oldest call queued in this process has waited (0 when none)."""
        for queued_at in self._pending_rows.values():
            return max(0.0, self._clock.time() - queued_at)
        return 0.0

    async def close(self, drain_timeout: float) -> None:
        """Send what is queued within ``drain_timeout``, then record the marks."""
        await self.sender.aclose(drain_timeout)
        await self.flush()
