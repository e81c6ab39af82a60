"""TELEGRAM_* settings: off without a token, clear errors for bad values."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from adapters.telegram.config import POLLING, WEBHOOK, TelegramConfig
from gateway.exceptions import AdapterNotConfigured, ConfigurationError

TOKEN = "123456:" + "A" * 35


def settings(**values: Any) -> Any:
    return SimpleNamespace(TELEGRAM_BOT_TOKEN=TOKEN, **values)


def test_no_token_means_not_configured_and_says_what_to_set() -> None:
    with pytest.raises(AdapterNotConfigured, match="set TELEGRAM_BOT_TOKEN"):
        TelegramConfig.from_settings(SimpleNamespace(TELEGRAM_BOT_TOKEN=""))


def test_defaults_and_urls() -> None:
    config = TelegramConfig.from_settings(settings(TELEGRAM_API_URL="http://127.0.0.1:9/"))
    assert config.mode == POLLING and config.bot_id == "123456"
    assert config.bot_base_url == "http://127.0.0.1:9/bot"
    assert config.bot_file_url == "http://127.0.0.1:9/file/bot"
    assert (config.overall_per_second, config.per_chat_per_second) == (30.0, 1.0)
    assert config.per_group_per_minute == 20.0 and config.limit_margin == 0.1


def test_webhook_mode_needs_url_and_secret() -> None:
    with pytest.raises(ConfigurationError, match="TELEGRAM_WEBHOOK_URL"):
        TelegramConfig.from_settings(settings(TELEGRAM_MODE="webhook"))
    with pytest.raises(ConfigurationError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramConfig.from_settings(
            settings(TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_URL="https://x.org/hook/")
        )
    config = TelegramConfig.from_settings(
        settings(
            TELEGRAM_MODE="webhook",
            TELEGRAM_WEBHOOK_URL="https://x.org/hook/",
            TELEGRAM_WEBHOOK_SECRET="abc_DEF-1",
        )
    )
    assert config.mode == WEBHOOK and config.webhook_path == "/hook/"


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "does not look like a bot token"),
        ({"TELEGRAM_MODE": "push"}, "polling or webhook"),
        ({"TELEGRAM_API_URL": "https://api.telegram.org/bot"}, "must not end with /bot"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "http"),
        ({"TELEGRAM_RATE_OVERALL": "fast"}, "TELEGRAM_RATE_OVERALL must be a number"),
        ({"TELEGRAM_RATE_PER_CHAT": "-1"}, "must be >= 0"),
    ],
)
def test_bad_values_name_the_setting(values: dict[str, Any], match: str) -> None:
    base = {"TELEGRAM_BOT_TOKEN": TOKEN, **values}
    with pytest.raises(ConfigurationError, match=match):
        TelegramConfig.from_settings(SimpleNamespace(**base))
