"""TelegramCommunicator: play a Telegram chat against an application, in-process."""

from __future__ import annotations

import itertools
from typing import Any

from gateway.exceptions import RemoteProtocolError
from gateway.telegram import build_scope, parse_command
from gateway.testing.application import ApplicationCommunicator

DEFAULT_USER = {
    "id": 1001,
    "is_bot": False,
    "first_name": "Test",
    "last_name": None,
    "username": "tester",
    "language_code": "en",
}


class TelegramCommunicator(ApplicationCommunicator):
    """One chat's scope, as the Telegram adapter builds it; the test plays the users.

    Example::

        chat = TelegramCommunicator(ChattyBotConsumer.as_asgi())
        await chat.send_message("hello")
        assert await chat.receive_text() == "You said: hello"
        await chat.disconnect()
    """

    def __init__(
        self,
        application: Any,
        chat_id: int = 1001,
        chat_type: str = "private",
        title: str | None = "tester",
        user: dict[str, Any] | None = None,
        bot: dict[str, Any] | None = None,
    ) -> None:
        """Build the scope; nothing runs until the first message.

        Args:
            application: an ASGI application or a consumer class.
            chat_id: the chat (negative for groups, as on Telegram).
            chat_type: "private", "group", "supergroup" or "channel".
            title: the chat's title (the user name for private chats).
            user: the user who writes (default: a test user).
            bot: the bot's getMe answer (default: id 1, username "test_bot").
        """
        self.user = dict(user or DEFAULT_USER)
        scope = build_scope(
            {"id": chat_id, "type": chat_type, "title": title},
            self.user,
            bot or {"id": 1, "username": "test_bot", "first_name": "Test bot"},
        )
        super().__init__(application, scope)
        self._ids = itertools.count(1)

    async def send_message(self, text: str, **keys: Any) -> None:
        """Send a ``telegram.message`` event as the adapter would, commands parsed."""
        number = next(self._ids)
        event: dict[str, Any] = {
            "type": "telegram.message",
            "update_id": number,
            "message_id": number,
            "text": text,
            "from": self.user,
            "date": None,
            "entities": [],
            "reply_to": None,
            "kind": "text",
        }
        command = parse_command(text)
        if command is not None:
            event["command"], event["args"] = command
        event.update(keys)
        await self.send_input(event)

    async def send_callback(self, data: str, message_id: int = 1) -> None:
        """Send a ``telegram.callback_query`` (a button under ``message_id`` pressed)."""
        number = next(self._ids)
        await self.send_input(
            {
                "type": "telegram.callback_query",
                "update_id": number,
                "id": f"query-{number}",
                "from": self.user,
                "data": data,
                "message_id": message_id,
                "chat_instance": "test",
            }
        )

    async def receive_text(self, timeout: float = 1) -> str:
        """The text of the next ``telegram.message`` the application sent.

        Raises:
            RemoteProtocolError: the application sent another kind of message.
        """
        message = await self.receive_output(timeout)
        if message.get("type") != "telegram.message":
            raise RemoteProtocolError(f"expected telegram.message, got {message!r}")
        return str(message["text"])

    async def disconnect(self, timeout: float = 1) -> None:
        """Send ``telegram.disconnect`` and wait for the application to end."""
        await self.send_input({"type": "telegram.disconnect", "reason": "closed"})
        await self.wait(timeout)  # type: ignore[no-untyped-call]
