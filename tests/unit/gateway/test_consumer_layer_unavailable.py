"""A handler failing with ChannelLayerUnavailable does not end the consumer: the
channel_layer_unavailable hook is called and the next event is handled."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.consumer import AsyncConsumer, SyncConsumer
from gateway.exceptions import ChannelLayerUnavailable
from gateway.testing import ApplicationCommunicator

SCOPE = {"type": "test"}


class AsyncRoom(AsyncConsumer):
    async def test_post(self, message: dict[str, Any]) -> None:
        raise ChannelLayerUnavailable("redis 127.0.0.1:1 unreachable for 30 s")

    async def test_ping(self, message: dict[str, Any]) -> None:
        await self.send({"type": "test.pong"})

    async def channel_layer_unavailable(self, exc: ChannelLayerUnavailable) -> None:
        await self.send({"type": "test.unavailable", "error": str(exc)})


class SyncRoom(SyncConsumer):
    def test_post(self, message: dict[str, Any]) -> None:
        raise ChannelLayerUnavailable("redis 127.0.0.1:1 unreachable for 30 s")

    def test_ping(self, message: dict[str, Any]) -> None:
        self.send({"type": "test.pong"})


async def test_async_consumer_is_told_and_keeps_running() -> None:
    comm = ApplicationCommunicator(AsyncRoom, SCOPE)
    await comm.send_input({"type": "test.post"})
    told = await comm.receive_output()
    assert told == {"type": "test.unavailable", "error": "redis 127.0.0.1:1 unreachable for 30 s"}
    await comm.send_input({"type": "test.ping"})
    assert await comm.receive_output() == {"type": "test.pong"}
    comm.stop()


@pytest.mark.django_db
async def test_sync_consumer_keeps_running_with_the_default_hook() -> None:
    comm = ApplicationCommunicator(SyncRoom, SCOPE)
    await comm.send_input({"type": "test.post"})
    await comm.send_input({"type": "test.ping"})
    assert await comm.receive_output() == {"type": "test.pong"}
    comm.stop()
