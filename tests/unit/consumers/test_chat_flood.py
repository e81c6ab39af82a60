"""consumers.chat: the chat's flood control, through the Communicator on a fake clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from consumers.chat import ChatConsumer, flood_control_from_settings
from gateway.clock import FakeClock
from gateway.flood import FloodControl, FloodPolicy
from gateway.ratelimit import Window
from gateway.testing import WebsocketCommunicator


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    clock = FakeClock()
    production = ChatConsumer.flood
    ChatConsumer.flood = FloodControl(FloodPolicy((Window(3, 10),), strikes=2), clock)
    yield clock
    ChatConsumer.flood = production


async def connected() -> WebsocketCommunicator:
    comm = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    ok, _ = await comm.connect()
    assert ok
    return comm


async def test_a_flood_gets_one_polite_error_then_1008(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    ana, bob = await connected(), await connected()
    for _ in range(3):  # within the rate: each frame is handled (and answered)
        await ana.send_to(text_data="not json")
        assert "invalid JSON" in (await ana.receive_json_from())["error"]
    await ana.send_to(text_data="not json")
    warning = (await ana.receive_json_from())["error"]
    assert warning == (
        "you are sending too fast (at most 3 every 10 s): that message was not sent; "
        "wait a few seconds"
    )
    await ana.send_to(text_data="dropped without a reply")
    assert await ana.receive_nothing()
    with caplog.at_level(logging.INFO, logger="consumers.chat"):
        await ana.send_to(text_data="still going")
        assert await ana.receive_output() == {
            "type": "websocket.close",
            "code": 1008,
            "reason": "too many messages",
        }
    [line] = [r.getMessage() for r in caplog.records if r.name == "consumers.chat"]
    assert "closed with 1008: kept sending over the rate limit (3 every 10 s)" in line
    # Another connection has its own rate.
    await bob.send_to(text_data="not json")
    assert "invalid JSON" in (await bob.receive_json_from())["error"]
    await bob.disconnect()


async def test_waiting_is_enough_to_be_heard_again(clock: FakeClock) -> None:
    ana = await connected()
    for _ in range(4):
        await ana.send_to(text_data="[]")
        await ana.receive_json_from()
    clock.advance(10.0)
    await ana.send_to(text_data="[]")
    assert (await ana.receive_json_from())["error"] == 'expected a JSON object with a "type" key'
    await ana.disconnect()


def test_the_settings_give_the_default_policy() -> None:
    flood = flood_control_from_settings()
    assert flood.describe() == "5 every 2 s, 40 every 60 s"
    assert flood.policy.strikes == 10
