"""Webhook mode: an ASGI app the web adapter serves at the webhook path.

Telegram POSTs each update as JSON with the secret token given to setWebhook in
``X-Telegram-Bot-Api-Secret-Token``. The update is committed to the inbox before the 200 goes
back, so an answer Telegram never got (a crash, a timeout) only makes it send the update
again, and the inbox skips the copy. Several web processes may serve the path: they only
store; the ``telegram`` process handles the inbox.

Answers: 200 stored (or already stored); 403 wrong or missing secret; 405 not a POST;
400 not an update; 413 larger than TELEGRAM_WEBHOOK_MAX_BODY; 503 the database is
unreachable (Telegram retries later).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async

from adapters.telegram import metrics
from adapters.telegram.config import TelegramConfig
from adapters.telegram.mapping import parse_update
from adapters.telegram.store import store_updates
from gateway.exceptions import RemoteProtocolError
from gateway.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

SECRET_HEADER = b"x-telegram-bot-api-secret-token"

#: Called after each update stored by a webhook in this process (the inbox of a
#: ``runadapter all`` process registers its ``notify`` here, so it needs no database poll).
stored_listeners: list[Callable[[], None]] = []


class TelegramWebhook:
    """The webhook endpoint as an ASGI HTTP application.

    Args:
        secret: the expected ``X-Telegram-Bot-Api-Secret-Token``.
        max_body: bodies larger than this many bytes get 413.
        store: stores a list of updates, returns how many were new (blocking; run in a thread).
    """

    def __init__(
        self,
        secret: str,
        max_body: int = 1024 * 1024,
        store: Callable[[list[dict[str, Any]]], int] = store_updates,
    ) -> None:
        self._secret = secret.encode()
        self._max_body = max_body
        self._store = sync_to_async(store, thread_sensitive=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one webhook request (see the module docstring for the statuses)."""
        status, text = await self._handle(scope, receive)
        metrics.WEBHOOK.labels(status=str(status)).inc()
        body = text.encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, str]:
        if scope.get("method") != "POST":
            return 405, "POST updates here\n"
        headers = dict(scope.get("headers") or [])
        if not hmac.compare_digest(headers.get(SECRET_HEADER, b""), self._secret):
            logger.warning(
                "telegram webhook: wrong or missing secret token from %s", scope.get("client")
            )
            return 403, "wrong secret token\n"
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self._max_body:
            return 413, f"an update is at most {self._max_body} bytes\n"
        body = await _read_body(receive, self._max_body)
        if body is None:
            return 413, f"an update is at most {self._max_body} bytes\n"
        try:
            data = json.loads(body)
            parse_update(data)
        except (ValueError, RemoteProtocolError) as exc:
            logger.info("telegram webhook: refused a body that is not an update: %s", exc)
            return 400, f"not a Telegram update: {exc}\n"
        try:
            new = await self._store([data])
        except Exception:
            logger.exception("telegram webhook: cannot store update %s", data["update_id"])
            return 503, "cannot store the update now; Telegram will retry\n"
        metrics.stored.inc(new)
        for listener in stored_listeners:
            listener()
        return 200, ""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def mount_webhook(http_app: ASGIApp, settings: Any) -> ASGIApp:
    """Serve the webhook path in front of ``http_app`` when TELEGRAM_MODE is webhook.

    Returns ``http_app`` itself when the adapter is off or polls (no extra hop per request).

    Raises:
        ConfigurationError: webhook mode with a missing or invalid URL or secret.
    """
    from gateway.exceptions import AdapterNotConfigured

    try:
        config = TelegramConfig.from_settings(settings)
    except AdapterNotConfigured:
        return http_app
    if config.mode != "webhook":
        return http_app
    webhook = TelegramWebhook(config.webhook_secret, config.webhook_max_body)
    path = config.webhook_path

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == path:
            await webhook(scope, receive, send)
        else:
            await http_app(scope, receive, send)

    logger.debug("telegram webhook served at %s", path)
    return app
