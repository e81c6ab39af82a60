"""TelegramCommunicator: commands parsed as the adapter does; non-messages are refused."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.consumer import AsyncConsumer
from gateway.exceptions import RemoteProtocolError, StopConsumer
from gateway.testing import TelegramCommunicator


class Recorder(AsyncConsumer):
    async def telegram_message(self, event: dict[str, Any]) -> None:
        await self.send({"type": "telegram.typing", "seen": dict(event)})

    async def telegram_disconnect(self, event: dict[str, Any]) -> None:
        raise StopConsumer


async def test_command_keys_and_wrong_reply_type() -> None:
    chat = TelegramCommunicator(Recorder.as_asgi())
    await chat.send_message("/roll 2 d6")
    seen = (await chat.receive_output())["seen"]
    assert (seen["command"], seen["args"]) == ("roll", ["2", "d6"])
    assert seen["from"]["username"] == "tester" and seen["update_id"] == 1
    await chat.send_message("plain")
    with pytest.raises(RemoteProtocolError, match=r"expected telegram\.message"):
        await chat.receive_text()
    await chat.disconnect()
