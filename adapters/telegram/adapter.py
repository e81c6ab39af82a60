"""The Telegram adapter: ``manage.py runadapter telegram``.

Checks the token (getMe), takes the adapter lease (one process handles the inbox and sends
the outbox at a time), then runs: the poller (polling mode; in webhook mode the web adapter
stores updates), the inbox feeding one scope per chat on the shared runtime, the outbox
sender with the flood limits, and housekeeping. See docs/telegram.md and
docs/specs/telegram.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Coroutine, Mapping
from typing import Any

from telegram import error as tg_error

from adapters.telegram import metrics, store, webhook
from adapters.telegram.client import BotClient, TokenRefused
from adapters.telegram.config import POLLING, TelegramConfig
from adapters.telegram.inbox import REACH_TYPE, Inbox, tolerate_missing_disconnect
from adapters.telegram.outbox import Outbox
from adapters.telegram.polling import Poller, sleep_unless_stopped
from gateway.backoff import Backoff
from gateway.exceptions import GatewayError
from gateway.layers import get_channel_layer
from gateway.reach import serve_channel
from gateway.server import Adapter, ApplicationRuntime, register_adapter
from gateway.types import ASGIApp

logger = logging.getLogger(__name__)

#: Seconds between housekeeping rounds (gauges, pruning old rows).
HOUSEKEEPING_INTERVAL = 5.0
PRUNE_INTERVAL = 60.0


class LeaseLost(GatewayError):
    """Another process took the telegram adapter lease: this one must stop (it is restarted)."""


def reach_channel_name(bot_id: int) -> str:
    """The channel-layer name a bot's adapter takes reach messages on (one per bot, so two
    bots sharing a Redis do not take each other's)."""
    return f"telegram.reach.{bot_id}"


def lease_owner() -> str:
    """``host:pid:random``: who holds the lease, and enough to tell when it died."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_dead(owner: str) -> bool:
    """True when ``owner`` is a process of this machine that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@register_adapter
class TelegramAdapter(Adapter):
    """Serves ``telegram`` scopes, one per chat, from the Bot API.

    Args:
        config: the parsed TELEGRAM_* settings.
        shutdown_timeout: how long scopes and the outbox get to finish on shutdown.
    """

    name = "telegram"

    def __init__(self, config: TelegramConfig, shutdown_timeout: float = 25.0) -> None:
        self.config = config
        self.shutdown_timeout = shutdown_timeout
        self.owner = lease_owner()

    @classmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any]) -> TelegramAdapter:
        """Build from TELEGRAM_BOT_TOKEN and the TELEGRAM_* settings.

        Raises:
            AdapterNotConfigured: TELEGRAM_BOT_TOKEN is not set.
            ConfigurationError: a setting is invalid.
        """
        return cls(
            TelegramConfig.from_settings(settings),
            shutdown_timeout=float(getattr(settings, "GATEWAY_SHUTDOWN_TIMEOUT", 25.0)),
        )

    def describe(self) -> str:
        """The bot id, the mode and the Bot API base."""
        return f"Telegram bot {self.config.bot_id}, {self.config.mode} via {self.config.api_url}"

    async def serve(self, application: ASGIApp, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then finish the chats, commit, drain the outbox.

        Raises:
            TokenRefused: the Bot API refused the token.
            LeaseLost: another process took over the lease.
        """
        config = self.config
        client = BotClient(config)
        database = store.Database()
        try:
            me = await self._start_client(client, stop)
            if me is None or not await self._take_lease(database, stop):
                return
            logger.info(
                "telegram bot @%s (%s) serving in %s mode", me["username"], me["id"], config.mode
            )
            await self._serve(application, stop, client, database, me)
        finally:
            await client.close()
            try:
                await database.run(store.release_lease, self.owner)
            except Exception:
                logger.warning("could not release the telegram lease: the next start waits for it")
            database.close()

    async def _start_client(self, client: BotClient, stop: asyncio.Event) -> dict[str, Any] | None:
        backoff = Backoff("Telegram Bot API (getMe)", logger=logger)
        while not stop.is_set():
            try:
                return await client.start()
            except TokenRefused:
                raise
            except (tg_error.TelegramError, OSError) as exc:
                await backoff.wait(exc, stop=stop)
        return None

    async def _take_lease(self, database: store.Database, stop: asyncio.Event) -> bool:
        waiting = ""  # the holder this process waits for
        backoff = Backoff("telegram lease database", logger=logger)
        while not stop.is_set():
            try:
                ok, holder, expires = await database.run(
                    store.acquire_lease,
                    self.owner,
                    time.time(),
                    self.config.lease_seconds,
                    holder_dead,
                )
            except Exception as exc:  # the database is unreachable or busy: try again
                await backoff.wait(exc, stop=stop)
                continue
            backoff.succeeded()
            if ok:
                if waiting:
                    logger.info("telegram lease taken over from %s", waiting)
                return True
            if not waiting:
                logger.info(
                    "another telegram adapter (%s) holds the lease for %.0f s more: waiting",
                    holder,
                    expires - time.time(),
                )
                waiting = holder
            await sleep_unless_stopped(stop, min(1.0, max(0.1, expires - time.time())))
        return False

    async def _serve(
        self,
        application: ASGIApp,
        stop: asyncio.Event,
        client: BotClient,
        database: store.Database,
        me: dict[str, Any],
    ) -> None:
        config = self.config
        runtime = ApplicationRuntime(
            tolerate_missing_disconnect(application),
            "telegram",
            queue_size=config.max_in_flight,
            max_in_flight=config.max_in_flight,
            idle_timeout=config.idle_timeout,
            shutdown_timeout=self.shutdown_timeout,
        )
        outbox = Outbox(client, database, config)
        await outbox.restore()
        outbox.sender.start()
        layer = get_channel_layer()
        reach_channel = reach_channel_name(me["id"]) if layer is not None else None
        inbox = Inbox(
            runtime,
            database,
            outbox.enqueue,
            me,
            max_attempts=config.max_attempts,
            max_in_flight=config.max_in_flight,
            idle_timeout=config.idle_timeout,
            reach_channel=reach_channel,
        )
        jobs: list[Coroutine[Any, Any, None]] = [
            inbox.commit_forever(),
            outbox.flush_forever(),
            self._keep_lease(database),
            self._housekeeping(database, outbox),
        ]
        if config.mode == POLLING:
            jobs.append(Poller(client, database, inbox.notify, config.poll_timeout).run(stop))
        else:
            webhook.stored_listeners.append(inbox.notify)
        tasks = [asyncio.ensure_future(job) for job in jobs]
        feeding = asyncio.ensure_future(inbox.run(stop))
        # Room messages for chats whose scope is gone (gateway/reach.py): only this process,
        # the lease holder, takes them, and into the outbox like every other send.
        reaching = (
            asyncio.ensure_future(
                serve_channel(layer, reach_channel, REACH_TYPE, inbox.deliver_reach)
            )
            if reach_channel is not None
            else None
        )
        try:
            done, _ = await asyncio.wait([feeding, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not feeding and not task.cancelled() and task.exception() is not None:
                    stop.set()
                    raise task.exception()  # type: ignore[misc]
        finally:
            stop.set()
            if reaching is not None:
                # First: what it took from the layer is committed by inbox.close() below;
                # what it did not take waits in the layer for the next holder.
                reaching.cancel()
                await asyncio.gather(reaching, return_exceptions=True)
            await asyncio.gather(feeding, return_exceptions=True)
            if inbox.notify in webhook.stored_listeners:
                webhook.stored_listeners.remove(inbox.notify)
            inbox.stopping()
            await runtime.shutdown()
            await inbox.close()
            await outbox.close(drain_timeout=max(1.0, self.shutdown_timeout / 2))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep_lease(self, database: store.Database) -> None:
        # Renewed until serve() has finished everything, the outbox drain included (it is
        # cancelled last): a successor must not start sending while this process still does.
        seconds = self.config.lease_seconds
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                ok, holder, _ = await database.run(
                    store.acquire_lease, self.owner, time.time(), seconds
                )
            except Exception as exc:
                logger.warning("cannot renew the telegram lease: %s", exc)
                continue
            if not ok:
                raise LeaseLost(
                    f"the telegram adapter lease was taken by {holder}: stopping so only one "
                    "process handles updates (raise TELEGRAM_LEASE_SECONDS if the database is slow)"
                )

    async def _housekeeping(self, database: store.Database, outbox: Outbox) -> None:
        last_prune = 0.0
        while True:
            metrics.OUTBOX_AGE.set(outbox.oldest_age())
            now = time.time()
            if now - last_prune > PRUNE_INTERVAL:
                last_prune = now
                try:
                    outbox_rows, inbox_rows = await database.run(store.prune, now)
                    if outbox_rows or inbox_rows:
                        logger.debug(
                            "telegram: pruned %d outbox and %d inbox rows", outbox_rows, inbox_rows
                        )
                except Exception as exc:
                    logger.warning("telegram: pruning old rows failed: %s", exc)
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
