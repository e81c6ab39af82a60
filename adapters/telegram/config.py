"""Telegram adapter configuration: TELEGRAM_* settings, parsed and checked (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gateway.exceptions import AdapterNotConfigured, ConfigurationError

DEFAULT_API_URL = "https://api.telegram.org"
POLLING = "polling"
WEBHOOK = "webhook"
#: A Bot API token: digits, a colon, then at least 30 of [A-Za-z0-9_-] (BotFather's format).
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
#: setWebhook's secret_token: 1-256 characters of A-Z a-z 0-9 _ -.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class TelegramConfig:
    """Everything the Telegram adapter needs.

    Attributes:
        token: the bot's token from BotFather.
        mode: ``polling`` (getUpdates) or ``webhook`` (the web adapter receives updates).
        api_url: the Bot API base without ``/bot`` (calls go to ``{api_url}/bot{token}/...``).
        webhook_url: the public https URL Telegram posts updates to (webhook mode).
        webhook_secret: the ``X-Telegram-Bot-Api-Secret-Token`` Telegram must send.
        webhook_path: the path the web adapter serves the webhook on.
        webhook_max_body: request bodies larger than this many bytes get 413.
        overall_per_second, per_chat_per_second, per_group_per_minute: flood limits (0: off).
        limit_margin: fraction of each limit kept free as a safety margin.
        poll_timeout: getUpdates long-polling timeout in seconds.
        max_attempts: a handler failing this many times marks its update failed.
        send_attempts: tries per outbound call on network errors and 5xx.
        idle_timeout: seconds without updates before a chat's scope closes (None: never).
        lease_seconds: how long the adapter's lease lasts without renewal.
        max_in_flight: updates delivered and not yet handled, at most.
    """

    token: str
    mode: str = POLLING
    api_url: str = DEFAULT_API_URL
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_path: str = "/telegram/webhook/"
    webhook_max_body: int = 1024 * 1024
    overall_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0
    limit_margin: float = 0.1
    poll_timeout: int = 30
    max_attempts: int = 3
    send_attempts: int = 5
    idle_timeout: float | None = 600.0
    lease_seconds: float = 15.0
    max_in_flight: int = 1000

    @property
    def bot_base_url(self) -> str:
        """PTB's ``base_url``: the token is appended to it."""
        return f"{self.api_url}/bot"

    @property
    def bot_file_url(self) -> str:
        """PTB's ``base_file_url``."""
        return f"{self.api_url}/file/bot"

    @property
    def bot_id(self) -> str:
        """The numeric part of the token: safe to log, unlike the token."""
        return self.token.split(":", 1)[0]

    @classmethod
    def from_settings(cls, settings: Any) -> TelegramConfig:
        """Build from Django settings.

        Raises:
            AdapterNotConfigured: TELEGRAM_BOT_TOKEN is empty.
            ConfigurationError: a value is invalid; the message names the setting.
        """
        token = (getattr(settings, "TELEGRAM_BOT_TOKEN", "") or "").strip()
        if not token:
            raise AdapterNotConfigured(
                "set TELEGRAM_BOT_TOKEN (the token BotFather gave you, 123456:ABC...) to enable "
                "the telegram adapter"
            )
        if not _TOKEN.match(token):
            raise ConfigurationError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, ':', then 30+ "
                "letters, digits, '_' or '-'): copy it again from BotFather"
            )
        mode = (getattr(settings, "TELEGRAM_MODE", POLLING) or POLLING).strip().lower()
        if mode not in {POLLING, WEBHOOK}:
            raise ConfigurationError(f"TELEGRAM_MODE must be polling or webhook, got {mode!r}")
        api_url = (getattr(settings, "TELEGRAM_API_URL", "") or DEFAULT_API_URL).rstrip("/")
        if api_url.endswith("/bot"):
            raise ConfigurationError(
                f"TELEGRAM_API_URL must not end with /bot (got {api_url!r}): give the base, "
                "e.g. https://api.telegram.org; the adapter adds /bot<token>/<method>"
            )
        if urlsplit(api_url).scheme not in {"http", "https"}:
            raise ConfigurationError(f"TELEGRAM_API_URL must be an http(s) URL, got {api_url!r}")
        webhook_url = getattr(settings, "TELEGRAM_WEBHOOK_URL", "") or ""
        secret = getattr(settings, "TELEGRAM_WEBHOOK_SECRET", "") or ""
        if mode == WEBHOOK:
            check_webhook(webhook_url, secret)
        return cls(
            token=token,
            mode=mode,
            api_url=api_url,
            webhook_url=webhook_url,
            webhook_secret=secret,
            webhook_path=webhook_path(webhook_url),
            webhook_max_body=_number(settings, "TELEGRAM_WEBHOOK_MAX_BODY", 1024 * 1024, int),
            overall_per_second=_number(settings, "TELEGRAM_RATE_OVERALL", 30.0),
            per_chat_per_second=_number(settings, "TELEGRAM_RATE_PER_CHAT", 1.0),
            per_group_per_minute=_number(settings, "TELEGRAM_RATE_PER_GROUP", 20.0),
            limit_margin=_number(settings, "TELEGRAM_RATE_MARGIN", 0.1),
            poll_timeout=_number(settings, "TELEGRAM_POLL_TIMEOUT", 30, int),
            max_attempts=max(1, _number(settings, "TELEGRAM_MAX_ATTEMPTS", 3, int)),
            idle_timeout=_number(settings, "TELEGRAM_IDLE_TIMEOUT", 600.0) or None,
            lease_seconds=_number(settings, "TELEGRAM_LEASE_SECONDS", 15.0),
        )


def _number(settings: Any, name: str, default: float, kind: type = float) -> Any:
    value = getattr(settings, name, None)
    if value is None or value == "":
        return kind(default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigurationError(f"{name} must be >= 0, got {value!r}")
    return number


def check_webhook(url: str, secret: str) -> None:
    """Raise ConfigurationError unless the webhook URL and secret are usable."""
    if not url:
        raise ConfigurationError(
            "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL, the public https URL of "
            "this site's webhook path, e.g. https://example.org/telegram/webhook/"
        )
    if urlsplit(url).scheme != "https" and not url.startswith("http://127.0.0.1"):
        raise ConfigurationError(f"TELEGRAM_WEBHOOK_URL must be https (Telegram's rule): {url!r}")
    if not _SECRET.match(secret):
        raise ConfigurationError(
            "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET: 1-256 characters of "
            "A-Z a-z 0-9 _ - (Telegram sends it back in X-Telegram-Bot-Api-Secret-Token)"
        )


def webhook_path(url: str) -> str:
    """The path part of TELEGRAM_WEBHOOK_URL (default ``/telegram/webhook/``)."""
    return urlsplit(url).path or "/telegram/webhook/" if url else "/telegram/webhook/"
