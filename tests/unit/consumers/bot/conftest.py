"""Fixtures for the bot's tests: a database shared with the consumers' threads, a unique room,
and flood limits high enough for tests that type fast (the flood tests set their own): the
bot's per identity and the web chat's per connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import override_settings

from consumers.bot.flood import FloodControl
from consumers.chat import ChatConsumer
from gateway import flood


@pytest.fixture(autouse=True)
def roomy_flood_limit() -> Iterator[None]:
    FloodControl._default = None
    production = ChatConsumer.flood
    ChatConsumer.flood = flood.FloodControl(flood.FloodPolicy((), strikes=10))
    with override_settings(BOT_FLOOD_LIMIT=1000, BOT_FLOOD_SECONDS=1):
        yield
    ChatConsumer.flood = production
    FloodControl._default = None


@pytest.fixture
def room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"
