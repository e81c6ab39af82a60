"""Fixtures for the bot's tests: a database shared with the consumers' threads, a unique room,
and a flood limit high enough for tests that type fast (the flood tests set their own)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import override_settings

from consumers.bot.flood import FloodControl


@pytest.fixture(autouse=True)
def roomy_flood_limit() -> Iterator[None]:
    FloodControl._default = None
    with override_settings(BOT_FLOOD_LIMIT=1000, BOT_FLOOD_SECONDS=1):
        yield
    FloodControl._default = None


@pytest.fixture
def room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"
