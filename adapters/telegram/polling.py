"""Polling mode: getUpdates long polling -> the inbox table -> offset advanced.

The offset sent with the next getUpdates is what confirms updates to Telegram, so it only
moves past updates once they are committed to the database: a crash anywhere loses nothing
(Telegram sends the unconfirmed ones again and the inbox skips those it already has).

409 Conflict means another getUpdates is running (two pollers overlapping during a deploy)
or a webhook is set: wait and try again quietly. Network errors and 5xx retry with backoff
(one WARNING per outage); 429 waits retry_after; a refused token stops the adapter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import error as tg_error

from adapters.telegram import metrics
from adapters.telegram.client import BotClient, TokenRefused, retry_seconds
from adapters.telegram.store import Database, store_updates
from gateway.backoff import Backoff

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How long to wait between getUpdates tries while another poller holds the updates.
CONFLICT_WAIT = 2.0


class Poller:
    """Long-polls getUpdates and stores what arrives before confirming it.

    Args:
        client: the Bot API client.
        database: the adapter's database thread.
        on_stored: called after each batch is committed (wakes the inbox).
        timeout: the long-polling timeout in seconds.
    """

    def __init__(
        self,
        client: BotClient,
        database: Database,
        on_stored: Callable[[], None],
        timeout: int = 30,
    ) -> None:
        self._client = client
        self._db = database
        self._on_stored = on_stored
        self._timeout = timeout
        #: The next offset to ask for (None until the first batch).
        self.offset: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set.

        Raises:
            TokenRefused: Telegram refused the token.
        """
        network = Backoff("Telegram Bot API (getUpdates)", logger=logger)
        database = Backoff("telegram inbox database", logger=logger)
        conflicts = 0
        while not stop.is_set():
            try:
                updates = await _until(stop, self._client.get_updates(self.offset, self._timeout))
            except _Stopped:
                return
            except tg_error.Conflict as exc:
                conflicts += 1
                if conflicts == 1:
                    logger.info(
                        "getUpdates conflict (another poller or a webhook is active): waiting "
                        "for it to stop (%s)",
                        exc,
                    )
                await sleep_unless_stopped(stop, CONFLICT_WAIT)
                continue
            except tg_error.RetryAfter as exc:
                metrics.THROTTLED.inc()
                await sleep_unless_stopped(stop, retry_seconds(exc))
                continue
            except tg_error.InvalidToken as exc:
                raise TokenRefused(
                    f"the Bot API refused TELEGRAM_BOT_TOKEN during getUpdates ({exc}): "
                    "set a valid token from BotFather"
                ) from None
            except (tg_error.TelegramError, OSError) as exc:
                await network.wait(exc, stop=stop)
                continue
            if conflicts:
                logger.info("getUpdates answers again after %d conflicts", conflicts)
                conflicts = 0
            network.succeeded()
            if not updates:
                continue
            while True:  # never advance the offset before the batch is committed
                try:
                    new = await self._db.run(store_updates, updates)
                    break
                except Exception as exc:
                    if stop.is_set():
                        return  # unconfirmed: Telegram sends them again after the restart
                    await database.wait(exc, stop=stop)
            database.succeeded()
            metrics.stored.inc(new)
            self.offset = max(update["update_id"] for update in updates) + 1
            self._on_stored()


class _Stopped(Exception):
    pass


async def _until(stop: asyncio.Event, call: Awaitable[T]) -> T:
    """Await ``call`` unless ``stop`` is set first (then cancel it and raise _Stopped)."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        raise _Stopped
    return task.result()


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``stop`` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
