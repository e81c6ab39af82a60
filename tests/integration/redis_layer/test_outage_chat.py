"""An outage longer than reconnect_timeout keeps chat WebSockets open: the page is told
"reconnecting", then "connected" once Redis answers, and the room works again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.chat import ChatConsumer
from gateway.clock import FakeClock
from gateway.layers.redis import RedisChannelLayer
from gateway.testing import WebsocketCommunicator
from tests.integration.redis_layer.test_data_loss import Server
from tests.layer_helpers import installed_layer

# The chat is the bot: identities, rooms and history live in the database.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    instance = Server(tmp_path)
    instance.start(aof=False)
    yield instance
    instance.kill()


async def joined(room: str, nick: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    ok, _ = await comm.connect()
    assert ok
    await comm.send_json_to({"type": "join", "room": room, "nick": nick})
    assert (await comm.receive_json_from(timeout=5))["type"] == "joined"
    assert (await comm.receive_json_from(timeout=5))["type"] == "history"
    assert (await comm.receive_json_from(timeout=5))["type"] == "who"
    return comm


async def test_chat_stays_open_through_a_long_outage(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    layer = RedisChannelLayer(
        hosts=[server.url], prefix="outage-chat", reconnect_timeout=0.3, clock=FakeClock()
    )
    with installed_layer(layer):
        ana, bob = await joined("lobby", "ana"), await joined("lobby", "bob")
        server.kill()
        with caplog.at_level(logging.DEBUG):
            await ana.send_json_to({"type": "send", "text": "anyone?"})
            error = await ana.receive_json_from(timeout=5)
            assert "reconnecting" in error["error"]
            assert await ana.receive_json_from(timeout=5) == {
                "type": "status",
                "state": "reconnecting",
            }
            server.start(aof=False)
            assert await ana.receive_json_from(timeout=10) == {
                "type": "status",
                "state": "connected",
            }
        # One line for the outage lasting past the bound, no traceback, no close.
        assert not [r for r in caplog.records if r.exc_info]
        assert (
            len([r for r in caplog.records if "unreachable for longer than" in r.getMessage()]) == 1
        )
        await ana.send_json_to({"type": "send", "text": "back"})
        for comm in (ana, bob):
            message = await comm.receive_json_from(timeout=5)
            assert (message["type"], message["text"]) == ("message", "back")
        await ana.disconnect()
        await bob.disconnect()
    await layer.close()
