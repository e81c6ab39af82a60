"""The seed's PingConsumer (an AsyncConsumer), with only the import lines changed."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.clock import FakeClock
from gateway.consumer import AsyncConsumer
from gateway.exceptions import UnknownEventType
from gateway.testing import WebsocketCommunicator

# --- from the seed document, unchanged -----------------------------------------------------
# fmt: off


class PingConsumer(AsyncConsumer):
    async def websocket_connect(self, message):
        await self.send({
            "type": "websocket.accept",
        })

    async def websocket_receive(self, message):
        await asyncio.sleep(1)
        await self.send({
            "type": "websocket.send",
            "text": "pong",
        })

# fmt: on

# --- tests ---------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The seed's handler calls asyncio.sleep(1): make that second pass when the test says."""
    fake = FakeClock()
    real_sleep = asyncio.sleep

    async def sleep(delay: float, result: object = None) -> object:
        if delay <= 0:  # a yield to the loop, as the loop's own code uses it
            return await real_sleep(0, result)
        await fake.sleep(delay)
        return result

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return fake


async def test_ping_consumer_answers_pong_after_its_one_second_sleep(clock: FakeClock) -> None:
    communicator = WebsocketCommunicator(PingConsumer.as_asgi(), "/ping/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data="ping")
    await clock.settle()
    clock.advance(0.999)
    await clock.settle()
    assert communicator.output_queue.empty()  # still in its sleep
    clock.advance(0.001)
    assert await communicator.receive_from() == "pong"
    communicator.future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await communicator.future


async def test_ping_consumer_has_no_disconnect_handler_and_the_error_says_so() -> None:
    communicator = WebsocketCommunicator(PingConsumer.as_asgi(), "/ping/")
    await communicator.connect()
    with pytest.raises(UnknownEventType, match=r"async def websocket_disconnect\(self, message\)"):
        await communicator.disconnect()
