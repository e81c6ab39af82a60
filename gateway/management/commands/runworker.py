"""``manage.py runworker CHANNEL [CHANNEL ...]``: run the consumers of fixed channel names.

As in Channels: each message received on a named channel goes to the application instance for
``{"type": "channel", "channel": NAME}`` (route it with ChannelNameRouter). SIGTERM/SIGINT let
running handlers finish within ``settings.GATEWAY_SHUTDOWN_TIMEOUT``; a second signal forces exit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway.applications import load_application
from gateway.exceptions import ConfigurationError
from gateway.layers import DEFAULT_CHANNEL_LAYER, get_channel_layer
from gateway.shutdown import run_until_signalled
from gateway.worker import Worker

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run a worker: consume messages sent to the named channels through the channel layer."
    leave_locale_alone = True
    #: The worker class, as in Channels: a subclass of this command may set its own (built with
    #: the keywords application, channels, channel_layer and shutdown_timeout).
    worker_class: type[Worker] = Worker
    #: The layer the worker receives from, set by handle() (Channels' attribute).
    channel_layer: Any = None

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "channels", nargs="+", metavar="CHANNEL", help="channel names to listen on"
        )
        parser.add_argument(
            "--layer",
            default=DEFAULT_CHANNEL_LAYER,
            help=f"channel layer alias from CHANNEL_LAYERS (default: {DEFAULT_CHANNEL_LAYER})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias: str = options["layer"]
        try:
            layer = get_channel_layer(alias)
            if layer is None:
                raise CommandError(
                    f"CHANNEL_LAYERS has no layer {alias!r}: configure it (set REDIS_URL for the "
                    "Redis layer; the in-memory layer only reaches consumers in this same process)"
                )
            application = load_application(settings)
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        self.channel_layer = layer
        worker = self.worker_class(
            application=application,
            channels=options["channels"],
            channel_layer=layer,
            shutdown_timeout=float(getattr(settings, "GATEWAY_SHUTDOWN_TIMEOUT", 25.0)),
        )
        logger.info("runworker: layer %r (%s)", alias, type(layer).__name__)

        async def main(stop: asyncio.Event) -> None:
            try:
                await worker.run(stop)
            finally:
                # Release the layer's connections inside the loop that opened them.
                await layer.close()

        try:
            run_until_signalled(main)
        except asyncio.CancelledError:
            raise CommandError("forced exit on a second signal: some work may be lost") from None
        except Exception as exc:
            logger.exception("runworker: the worker failed")
            raise CommandError(f"the worker failed: {exc}") from exc
