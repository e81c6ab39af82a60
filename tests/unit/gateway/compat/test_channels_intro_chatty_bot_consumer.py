"""The seed's ChattyBotConsumer (a SyncConsumer for "telegram" scopes), import line changed."""

# ruff: noqa: UP031  (the seed's code is kept as written, %-formatting included)

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.consumer import SyncConsumer
from gateway.testing import ApplicationCommunicator

# --- from the seed document, unchanged -----------------------------------------------------
# fmt: off


class ChattyBotConsumer(SyncConsumer):

    def telegram_message(self, message):
        """
        Simple echo handler for telegram messages in any chat.
        """
        self.send({
            "type": "telegram.message",
            "text": "You said: %s" % message["text"],
        })

# fmt: on

# --- tests ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_chatty_bot_echoes_telegram_messages() -> None:
    communicator = ApplicationCommunicator(ChattyBotConsumer.as_asgi(), {"type": "telegram"})
    for text in ("hello", "how are you?"):
        await communicator.send_input({"type": "telegram.message", "text": text})
        assert await communicator.receive_output() == {
            "type": "telegram.message",
            "text": f"You said: {text}",
        }
    # The seed's bot never stops by itself: the chat scope stays open until the server ends it.
    communicator.future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await communicator.future
