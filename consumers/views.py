"""Plain HTTP pages: the chat page, the status page and its JSON, /healthz and /metrics.

/status, /status.json and /metrics are for operators when DEBUG is off (consumers.access).
"""

from __future__ import annotations

import logging
import os
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from consumers.access import refusal
from consumers.bot import store
from gateway import metrics as gateway_metrics
from gateway.db import database_sync_to_async
from gateway.server import known_adapters
from gateway.status import RateTracker, collect_sections, status_snapshot

logger = logging.getLogger(__name__)

_STARTED = time.time()
# One tracker per process: every poller sees the rate over the same recent window.
_RATES = RateTracker(window=10.0)


async def index(request: HttpRequest) -> HttpResponse:
    """The chat page: pick a nickname and a room, talk to every protocol at once."""
    return render(request, "consumers/index.html", {"ws_path": "/ws/chat/"})


async def status_page(request: HttpRequest) -> HttpResponse:
    """The live status page; its script polls :func:`status_json`. Operators only."""
    if (refused := await refusal(request, page=True)) is not None:
        return refused
    return render(request, "consumers/status.html", {"status_url": "/status.json"})


async def status_json(request: HttpRequest) -> HttpResponse:
    """Adapters up or down, open scopes per protocol and messages per second, as JSON.

    Operators only (staff session or METRICS_TOKEN) when DEBUG is off.
    """
    if (refused := await refusal(request)) is not None:
        return refused
    now = time.time()
    adapters = known_adapters(settings)
    data = status_snapshot(gateway_metrics.snapshot(), adapters, _RATES, now)
    data["uptime_seconds"] = round(now - _STARTED, 1)
    # Sections adapters registered (the Telegram tables: work done by another process).
    data.update(await sync_to_async(collect_sections)(now))
    data["devices"] = await database_sync_to_async(store.devices)()
    return JsonResponse(data, headers={"Cache-Control": "no-store"})


async def healthz(request: HttpRequest) -> JsonResponse:
    """For the platform's health check: 200 while this process serves requests."""
    return JsonResponse(
        {"status": "ok", "pid": os.getpid(), "uptime_seconds": round(time.time() - _STARTED, 1)},
        headers={"Cache-Control": "no-store"},
    )


async def metrics(request: HttpRequest) -> HttpResponse:
    """Every metric of this process in Prometheus' text format, for whoever may read them.

    Open while DEBUG is on and METRICS_TOKEN unset; otherwise only for
    ``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus' ``authorization`` scrape option) or a
    logged-in staff user (401 otherwise).
    """
    if (refused := await refusal(request)) is not None:
        return refused
    # The registered sections refresh their gauges (e.g. gateway_telegram_database).
    await sync_to_async(collect_sections)(time.time())
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
