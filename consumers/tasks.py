"""Celery tasks of the bot: /report, offline detection and history pruning (docs/bot.md).

The worker (`celery -A project worker --beat`, the Procfile's ``worker``) runs them; without a
broker (no REDIS_URL) they run eagerly in the asking process. A report's answer goes back to the
conversation that asked, through the channel layer: to the adapter's reach channel when the
conversation has a reach (consumers/bot/route.py), else as a ``bot.report`` event to the asking
consumer's channel.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from celery import shared_task
from django.conf import settings

from consumers.bot import store
from consumers.bot.chart import bar_chart_png
from consumers.bot.groups import REPORT
from consumers.bot.report import build_report
from consumers.bot.route import send_notice, send_report
from gateway.db import database_sync_to_async
from gateway.layers import get_channel_layer

logger = logging.getLogger(__name__)


class Asker(Protocol):
    """The conversation that asked for a report (a :class:`~consumers.bot.session.BotSession`)."""

    channel_name: str
    protocol: str
    reach: dict[str, Any] | None


async def enqueue_report(target: str, seconds: float, asker: Asker) -> None:
    """Queue /report (in a thread: the broker call blocks, and eager mode reads the database)."""
    await database_sync_to_async(report_task.delay)(
        target, seconds, asker.channel_name, asker.protocol, asker.reach
    )


@shared_task(name="bot.report", ignore_result=True)
def report_task(
    target: str,
    seconds: float,
    reply_channel: str,
    protocol: str,
    reach: dict[str, Any] | None = None,
) -> None:
    """Build the report and send it to the conversation that asked for it: through its
    ``reach`` when it has one, else to its consumer's ``reply_channel``."""
    report = build_report(target, seconds, time.time())
    message: dict[str, Any] = {"type": REPORT, "title": report.title, "text": report.text}
    # Radio gets text only: a picture would take minutes at 1200 baud.
    if report.values and protocol in ("web", "telegram"):
        message["png"] = bar_chart_png(report.values)
    layer = get_channel_layer()
    if layer is None:
        logger.error("report for %s: no channel layer to answer on (CHANNEL_LAYERS)", target)
        return
    sent_to = async_to_sync(send_report)(layer, message, reply_channel, reach)
    logger.info("report for %s (%s) sent to %s", target, protocol, sent_to)


def send_alerts(alerts: list[store.Alert]) -> None:
    """Deliver alerts to their identities (from sync code): through the reach of each one's
    last conversation when it has a good one, else to its open conversations."""
    layer = get_channel_layer()
    if layer is None or not alerts:
        return
    now = time.time()
    for alert in alerts:
        async_to_sync(send_notice)(layer, alert, now)


@shared_task(name="bot.detect_offline", ignore_result=True)
def detect_offline() -> int:
    """Mark devices silent for BOT_OFFLINE_SECONDS offline and tell their watchers."""
    now = time.time()
    silent = store.silent_devices(now - float(settings.BOT_OFFLINE_SECONDS))
    for device_id in silent:
        alerts = store.mark_offline(device_id, f"silent for {settings.BOT_OFFLINE_SECONDS} s")
        logger.info("device %s silent: marked offline, %d watcher(s) told", device_id, len(alerts))
        send_alerts(alerts)
    return len(silent)


@shared_task(name="bot.prune", ignore_result=True)
def prune() -> int:
    """Delete history older than BOT_HISTORY_DAYS and presences older than BOT_PRESENCE_HOURS."""
    now = time.time()
    rows = store.prune_history(now - float(settings.BOT_HISTORY_DAYS) * 86400)
    rows += store.prune_presence(now - float(settings.BOT_PRESENCE_HOURS) * 3600)
    logger.info("pruned %d old rows", rows)
    return rows
