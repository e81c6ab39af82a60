"""The seed's second routing example: WebSocket URLs and a Telegram bot in one application.

Only the import lines differ from the seed document.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.exceptions import NoRouteFound
from gateway.routing import ProtocolTypeRouter, URLRouter, url
from gateway.testing import ApplicationCommunicator, WebsocketCommunicator
from tests.unit.gateway.compat.routing_consumers import AdminChatConsumer, PublicChatConsumer
from tests.unit.gateway.compat.test_channels_intro_chatty_bot_consumer import ChattyBotConsumer

# --- from the seed document, unchanged -----------------------------------------------------
# fmt: off

application = ProtocolTypeRouter({

    "websocket": URLRouter([
        url(r"^chat/admin/$", AdminChatConsumer),
        url(r"^chat/$", PublicChatConsumer),
    ]),

    "telegram": ChattyBotConsumer,
})

# fmt: on

# --- tests ---------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db(transaction=True)


async def test_websocket_scopes_go_through_the_url_router() -> None:
    communicator = WebsocketCommunicator(application, "/chat/admin/")
    assert (await communicator.connect())[0]
    assert await communicator.receive_from() == "admin chat"
    await communicator.disconnect()


async def test_telegram_scopes_reach_the_bot_consumer_class() -> None:
    communicator = ApplicationCommunicator(application, {"type": "telegram", "chat_id": 42})
    await communicator.send_input({"type": "telegram.message", "text": "hi"})
    assert await communicator.receive_output() == {
        "type": "telegram.message",
        "text": "You said: hi",
    }
    # The bot's scope lasts for the whole conversation: end it as the server would.
    communicator.future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await communicator.future


async def test_other_protocols_have_no_application() -> None:
    communicator = ApplicationCommunicator(application, {"type": "mqtt", "topic": "a"})
    with pytest.raises(NoRouteFound, match=r"'mqtt'.*configured: telegram, websocket"):
        await communicator.receive_output()
