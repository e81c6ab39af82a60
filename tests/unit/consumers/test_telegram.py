"""The default Telegram bot, driven in-process by TelegramCommunicator."""

from __future__ import annotations

import pytest

from consumers.telegram import HELP, TelegramEchoBot
from gateway.testing import TelegramCommunicator


async def test_help_echo_media_and_buttons() -> None:
    chat = TelegramCommunicator(TelegramEchoBot.as_asgi())
    await chat.send_message("/help")
    assert await chat.receive_text() == HELP
    await chat.send_message("/start@test_bot now")
    assert await chat.receive_text() == HELP
    await chat.send_message("hello  there")
    assert await chat.receive_text() == "You said: hello  there"
    await chat.send_message(None, kind="photo", message_id=9)
    reply = await chat.receive_output()
    assert reply["reply_to"] == 9 and "photo" in reply["text"]
    await chat.send_callback("yes")
    answer = await chat.receive_output()
    assert answer["type"] == "telegram.answer_callback" and answer["id"].startswith("query-")
    await chat.disconnect()


@pytest.mark.parametrize("chat_type", ["private", "supergroup"])
async def test_scope_is_built_like_the_adapters(chat_type: str) -> None:
    chat = TelegramCommunicator(TelegramEchoBot.as_asgi(), chat_id=-5, chat_type=chat_type)
    assert chat.scope["type"] == "telegram" and chat.scope["chat"]["type"] == chat_type
    assert chat.scope["chat_id"] == -5 and chat.scope["bot"]["username"] == "test_bot"
