"""The watch worker: a runworker background consumer on BOT_WATCH_CHANNEL (e.g.
``manage.py runworker bot-watch`` with BOT_WATCH_CHANNEL=bot-watch and REDIS_URL) that
evaluates /watch thresholds for each telemetry reading and sends the alerts.

A Celery task per reading would put a broker message, a task record and a worker round trip on
every telemetry message for a check that takes a few milliseconds; a channel-layer message to a
long-lived consumer is one Redis list push. With BOT_WATCH_CHANNEL empty (the default) the
device consumer checks the watches itself.
"""

from __future__ import annotations

import logging
from typing import Any

from consumers.bot import store
from consumers.tasks import send_alerts
from gateway.consumer import AsyncConsumer
from gateway.db import database_sync_to_async

logger = logging.getLogger(__name__)

#: The message the device consumer sends: device_id, data (the reading), was_offline.
WATCH_CHECK = "watch.check"


@database_sync_to_async
def _check(device_id: str, data: dict[str, Any], was_offline: bool) -> int:
    alerts = store.evaluate_watches(device_id, data, was_offline)
    send_alerts(alerts)
    return len(alerts)


class WatchWorker(AsyncConsumer):
    """Evaluates watches, one reading at a time, in the order the readings were sent."""

    async def watch_check(self, message: dict[str, Any]) -> None:
        sent = await _check(message["device_id"], message["data"], bool(message["was_offline"]))
        if sent:
            logger.info("watch: %d alert(s) for %s", sent, message["device_id"])
