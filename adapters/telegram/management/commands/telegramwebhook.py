"""``manage.py telegramwebhook set|delete|info``: register the webhook with Telegram."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from telegram.error import TelegramError

from adapters.telegram.client import BotClient
from adapters.telegram.config import TelegramConfig, check_webhook
from gateway.exceptions import ConfigurationError


class Command(BaseCommand):
    help = (
        "set: point Telegram at TELEGRAM_WEBHOOK_URL with TELEGRAM_WEBHOOK_SECRET; "
        "delete: remove the webhook (back to polling); info: show getWebhookInfo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["set", "delete", "info"])
        parser.add_argument(
            "--drop-pending-updates",
            action="store_true",
            help="also discard the updates Telegram still holds (they are lost)",
        )
        parser.add_argument(
            "--max-connections",
            type=int,
            default=40,
            help="concurrent webhook requests Telegram may make (1-100, default 40)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = TelegramConfig.from_settings(settings)
            if options["action"] == "set":
                check_webhook(config.webhook_url, config.webhook_secret)
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from None
        try:
            result = asyncio.run(self._run(config, options))
        except TelegramError as exc:
            raise CommandError(f"the Bot API refused {options['action']}: {exc}") from None
        self.stdout.write(json.dumps(result, indent=2, default=str))

    async def _run(self, config: TelegramConfig, options: dict[str, Any]) -> Any:
        client = BotClient(config, pool_size=1)
        try:
            action = options["action"]
            if action == "set":
                return await client.call(
                    "setWebhook",
                    {
                        "url": config.webhook_url,
                        "secret_token": config.webhook_secret,
                        "max_connections": options["max_connections"],
                        "drop_pending_updates": options["drop_pending_updates"],
                    },
                )
            if action == "delete":
                return await client.call(
                    "deleteWebhook", {"drop_pending_updates": options["drop_pending_updates"]}
                )
            return await client.call("getWebhookInfo", {})
        finally:
            await client.close()
