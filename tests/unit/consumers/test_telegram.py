"""The Telegram bot (the default "telegram" application), driven in-process by
TelegramCommunicator: /start and /help, media, buttons and the scope it gets."""

from __future__ import annotations

import itertools

import pytest

from consumers.bot.commands import help_lines
from consumers.telegram import TelegramBot
from gateway.testing import TelegramCommunicator

_user_ids = itertools.count(7000)


def chat_for_new_user() -> TelegramCommunicator:
    user_id = next(_user_ids)
    user = {"id": user_id, "is_bot": False, "first_name": "Ana", "username": f"ana{user_id}"}
    return TelegramCommunicator(TelegramBot.as_asgi(), chat_id=user_id, user=user)


@pytest.mark.django_db(transaction=True)
async def test_help_media_and_buttons() -> None:
    chat = chat_for_new_user()
    await chat.send_message("/help")
    assert await chat.receive_text(timeout=5) == "\n".join(["Commands:", *help_lines()])
    await chat.send_message("/start@test_bot now")
    assert await chat.receive_text(timeout=5) == "\n".join(["Commands:", *help_lines()])
    await chat.send_message(None, kind="photo", message_id=9)
    reply = await chat.receive_output(timeout=5)
    assert reply["type"] == "telegram.message" and "photo" in reply["text"]
    await chat.send_callback("yes")
    answer = await chat.receive_output(timeout=5)
    assert answer["type"] == "telegram.answer_callback" and answer["id"].startswith("query-")
    await chat.disconnect()


@pytest.mark.parametrize("chat_type", ["private", "supergroup"])
async def test_scope_is_built_like_the_adapters(chat_type: str) -> None:
    chat = TelegramCommunicator(TelegramBot.as_asgi(), chat_id=-5, chat_type=chat_type)
    assert chat.scope["type"] == "telegram" and chat.scope["chat"]["type"] == chat_type
    assert chat.scope["chat_id"] == -5 and chat.scope["bot"]["username"] == "test_bot"
