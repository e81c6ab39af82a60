"""The Telegram adapter: every chat a scope, exactly-once handling (docs/telegram.md).

This package is also a Django app (its models are the durable inbox and outbox), so nothing
is imported here: ``adapters.telegram.adapter.TelegramAdapter`` is named in GATEWAY_ADAPTERS.
"""
