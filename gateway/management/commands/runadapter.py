"""``manage.py runadapter NAME [NAME ...]`` / ``runadapter all``: the one entry point for adapters.

Every adapter named runs in this process and one event loop (uvloop when installed), serving
``settings.ASGI_APPLICATION``; so ``runadapter all`` shares the in-memory channel layer between
them. SIGTERM/SIGINT shut down gracefully within ``settings.GATEWAY_SHUTDOWN_TIMEOUT``; a second
signal forces exit. An adapter that crashes ends the process with a non-zero status.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway.adapter import (
    Adapter,
    get_adapter_class,
    known_adapters,
    run_adapters,
)
from gateway.applications import load_application
from gateway.exceptions import AdapterNotConfigured, ConfigurationError
from gateway.shutdown import run_until_signalled

logger = logging.getLogger(__name__)

ALL = "all"


class Command(BaseCommand):
    help = (
        "Run protocol adapters (web, mqtt, telegram, ax25, or 'all' configured ones) serving "
        "settings.ASGI_APPLICATION in one process and event loop."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "names", nargs="+", metavar="NAME", help="adapter names, or 'all' for every one"
        )
        parser.add_argument("--host", help="web: interface to listen on (default: WEB_HOST)")
        parser.add_argument("--port", type=int, help="web: TCP port (default: PORT)")

    def handle(self, *args: Any, **options: Any) -> None:
        requested: list[str] = options["names"]
        names = self.resolve_names(requested)
        adapters = self.build_adapters(names, options, explicit=ALL not in requested)
        try:
            application = load_application(settings)
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        timeout = float(getattr(settings, "GATEWAY_SHUTDOWN_TIMEOUT", 25.0))
        logger.info("runadapter: starting %s", ", ".join(adapters))
        try:
            failed = run_until_signalled(
                lambda stop: run_adapters(adapters, application, stop, timeout)
            )
        except asyncio.CancelledError:
            raise CommandError("forced exit on a second signal: some work may be lost") from None
        if failed:
            raise CommandError(
                f"adapter(s) {', '.join(failed)} failed (see the log above); exiting so the "
                "platform restarts the process"
            )
        logger.info("runadapter: stopped cleanly")

    def resolve_names(self, requested: list[str]) -> list[str]:
        """Expand 'all' and refuse unknown names (CommandError listing the known ones)."""
        known = known_adapters(settings)
        if ALL in requested:
            return known
        unknown = [name for name in requested if name not in known]
        if unknown:
            raise CommandError(
                f"unknown adapter(s) {', '.join(unknown)}: known adapters are "
                f"{', '.join(known) or 'none'} (or '{ALL}'); GATEWAY_ADAPTERS lists them"
            )
        return list(dict.fromkeys(requested))

    def build_adapters(
        self, names: list[str], options: dict[str, Any], explicit: bool
    ) -> dict[str, Adapter]:
        """Build each adapter; log one line for each that cannot run; fail if none can."""
        adapters: dict[str, Adapter] = {}
        reasons: list[str] = []
        for name in names:
            try:
                adapters[name] = get_adapter_class(name, settings).from_settings(settings, options)
            except AdapterNotConfigured as exc:
                # With 'all', adapters without a broker/token/TNC are expected: say it quietly.
                level = logging.WARNING if explicit else logging.INFO
                logger.log(level, "adapter %s is not configured: %s", name, exc)
                reasons.append(f"{name}: {exc}")
            except ConfigurationError as exc:
                logger.error("adapter %s cannot be used: %s", name, exc)
                reasons.append(f"{name}: {exc}")
        if not adapters:
            raise CommandError("no adapter can run: " + "; ".join(reasons))
        return adapters
