"""Fixtures for consumer tests: a fresh, recording in-memory channel layer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.layers import InMemoryChannelLayer
from gateway.layers.inmemory import ChannelPoller
from tests.layer_helpers import installed_layer


class RecordingLayer(InMemoryChannelLayer):
    """The real in-memory layer, also recording group changes and cancelled receives."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, str]] = []
        self.cancelled_receives: list[str] = []
        self.started_receives: list[str] = []
        self.watched: list[str] = []

    def poller(self, channel: str) -> ChannelPoller:
        self.watched.append(channel)
        return super().poller(channel)

    def listened_on(self) -> list[str]:
        """The channels a consumer waited on, by a pending receive or a poller."""
        return self.started_receives + self.watched

    def anyone_waiting(self, channel: str) -> bool:
        """True while a receive or a watch still waits on ``channel``."""
        return self._buffers.has_waiters(channel)

    async def receive(self, channel: str) -> dict[str, Any]:
        self.started_receives.append(channel)
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            self.cancelled_receives.append(channel)
            raise

    async def group_add(self, group: str, channel: str) -> None:
        self.calls.append(("add", group, channel))
        await super().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        self.calls.append(("discard", group, channel))
        await super().group_discard(group, channel)


class PumpedRecordingLayer(RecordingLayer):
    """A RecordingLayer without the "poll" extension: consumers read it with a receive task."""

    extensions = ["groups", "flush"]


@pytest.fixture(params=[RecordingLayer, PumpedRecordingLayer], ids=["polled", "pumped"])
def layer(request: pytest.FixtureRequest) -> Iterator[RecordingLayer]:
    """Install a fresh RecordingLayer as the "default" layer for the test."""
    with installed_layer(request.param()) as fresh:
        yield fresh
