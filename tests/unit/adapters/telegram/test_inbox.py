"""The inbox's wrapper for consumers without a telegram_disconnect handler (the seed's)."""

from __future__ import annotations

import pytest

from adapters.telegram.inbox import tolerate_missing_disconnect
from gateway.exceptions import UnknownEventType
from gateway.testing import ApplicationCommunicator
from tests.unit.gateway.compat.test_channels_intro_chatty_bot_consumer import ChattyBotConsumer

pytestmark = pytest.mark.django_db(transaction=True)


async def test_seed_consumer_ends_quietly_when_its_chat_scope_closes() -> None:
    app = tolerate_missing_disconnect(ChattyBotConsumer.as_asgi())
    chat = ApplicationCommunicator(app, {"type": "telegram", "chat_id": 1})
    await chat.send_input({"type": "telegram.message", "text": "hi"})
    assert (await chat.receive_output())["text"] == "You said: hi"
    await chat.send_input({"type": "telegram.disconnect", "reason": "closed"})
    await chat.wait(1)  # returned, no UnknownEventType


async def test_other_unknown_events_still_fail() -> None:
    app = tolerate_missing_disconnect(ChattyBotConsumer.as_asgi())
    chat = ApplicationCommunicator(app, {"type": "telegram", "chat_id": 1})
    await chat.send_input({"type": "telegram.member", "change": "joined"})
    with pytest.raises(UnknownEventType, match="telegram_member"):
        await chat.receive_output()
