"""The Telegram adapter's Django app: the durable inbox, outbox and lease tables."""

from __future__ import annotations

from django.apps import AppConfig


class TelegramAdapterConfig(AppConfig):
    """Installed as ``adapters.telegram`` (label ``telegram``)."""

    name = "adapters.telegram"
    label = "telegram"
    verbose_name = "Telegram adapter"
    default_auto_field = "django.db.models.BigAutoField"
