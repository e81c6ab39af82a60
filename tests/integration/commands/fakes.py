"""Fake adapters for the runadapter subprocess tests; they log what the test waits for."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gateway.server import Adapter

logger = logging.getLogger(__name__)


class WaitingAdapter(Adapter):
    """Serves until stopped, then says so."""

    name = "waiting"

    @classmethod
    def from_settings(cls, settings: Any, options: Any) -> WaitingAdapter:
        return cls()

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        logger.warning("fake adapter %s ready", self.name)
        await stop.wait()
        logger.warning("fake adapter %s stopped gracefully", self.name)


class StubbornAdapter(WaitingAdapter):
    """Ignores the stop event: only a second signal ends it."""

    name = "stubborn"

    async def serve(self, application: Any, stop: asyncio.Event) -> None:
        logger.warning("fake adapter %s ready", self.name)
        await asyncio.Event().wait()
