"""Plain HTTP pages: the chat page, the status page and its JSON, /healthz and /metrics."""

from __future__ import annotations

import hmac
import logging
import os
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from adapters.telegram import status as telegram_status
from adapters.web.status import RateTracker, status_snapshot
from consumers.bot import store
from gateway import metrics as gateway_metrics
from gateway.db import database_sync_to_async
from gateway.server import known_adapters

logger = logging.getLogger(__name__)

_STARTED = time.time()
# One tracker per process: every poller sees the rate over the same recent window.
_RATES = RateTracker(window=10.0)


async def index(request: HttpRequest) -> HttpResponse:
    """The chat page: pick a nickname and a room, talk to every protocol at once."""
    return render(request, "consumers/index.html", {"ws_path": "/ws/chat/"})


async def status_page(request: HttpRequest) -> HttpResponse:
    """The live status page; its script polls :func:`status_json`."""
    return render(request, "consumers/status.html", {"status_url": "/status.json"})


async def status_json(request: HttpRequest) -> JsonResponse:
    """Adapters up or down, open scopes per protocol and messages per second, as JSON."""
    now = time.time()
    adapters = known_adapters(settings)
    data = status_snapshot(gateway_metrics.snapshot(), adapters, _RATES, now)
    data["uptime_seconds"] = round(now - _STARTED, 1)
    data["devices"] = await database_sync_to_async(store.devices)()
    if telegram_status.enabled():
        # From the database: the telegram adapter usually runs in another process.
        data["telegram"] = await sync_to_async(telegram_status.database_summary)(now)
    return JsonResponse(data, headers={"Cache-Control": "no-store"})


async def healthz(request: HttpRequest) -> JsonResponse:
    """For the platform's health check: 200 while this process serves requests."""
    return JsonResponse(
        {"status": "ok", "pid": os.getpid(), "uptime_seconds": round(time.time() - _STARTED, 1)},
        headers={"Cache-Control": "no-store"},
    )


async def metrics(request: HttpRequest) -> HttpResponse:
    """Every metric of this process (and the Telegram tables) in Prometheus' text format.

    With METRICS_TOKEN set, only a request carrying ``Authorization: Bearer <METRICS_TOKEN>``
    gets them (401 otherwise); without it they are open while DEBUG is on and hidden (404)
    when it is off, so a deployment never publishes them by accident.
    """
    token = settings.METRICS_TOKEN
    if not token:
        if not settings.DEBUG:
            raise Http404("/metrics is off: set METRICS_TOKEN to scrape it")
    elif not _bearer_matches(authorization := request.headers.get("Authorization", ""), token):
        if authorization:
            # A scraper with a stale token, worth saying; bare requests (scanners) are not.
            logger.warning("/metrics: refused a request whose bearer token does not match")
        return HttpResponse(
            "/metrics needs the header Authorization: Bearer <METRICS_TOKEN>\n",
            status=401,
            content_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if telegram_status.enabled():
        await sync_to_async(telegram_status.database_summary)()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, credentials = header.partition(" ")
    # Compared in constant time: the token is a password.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )
