"""The Bot API through python-telegram-bot's ``Bot``: getMe, getUpdates and outbox calls.

Only PTB's ``Bot`` (its HTTP client, error mapping and file uploads) is used, never its
``Application``/``Updater``: those confirm the update offset before handlers run. Calls go to
``{TELEGRAM_API_URL}/bot{token}/{method}``.
"""

from __future__ import annotations

import base64
import logging
import warnings
from datetime import timedelta
from typing import Any

from telegram import Bot, InputFile
from telegram.error import InvalidToken, RetryAfter
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from adapters.telegram.config import TelegramConfig
from gateway.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

# Every call goes through do_api_request on purpose: updates are stored as the raw JSON
# Telegram sent (parsed later with Update.de_json), and outbox rows hold plain Bot API
# parameters. PTB suggests its typed method for each call; that is not needed here.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

#: Seconds on top of the long-polling timeout before a getUpdates read gives up.
POLL_READ_MARGIN = 10.0


def retry_seconds(exc: RetryAfter) -> float:
    """The seconds a 429 asks to wait (PTB gives an int or a timedelta)."""
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; both forms are handled.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return float(value.total_seconds()) if isinstance(value, timedelta) else float(value)


class TokenRefused(ConfigurationError):
    """The Bot API refused TELEGRAM_BOT_TOKEN (401/404): the adapter cannot run."""


class BotClient:
    """One PTB ``Bot`` with a connection pool for sends and one for long polling.

    Args:
        config: the adapter's configuration (token, API URL, poll timeout).
        pool_size: concurrent outbound calls at most.
    """

    def __init__(self, config: TelegramConfig, pool_size: int = 64) -> None:
        self.config = config
        self.bot = Bot(
            config.token,
            base_url=config.bot_base_url,
            base_file_url=config.bot_file_url,
            request=HTTPXRequest(connection_pool_size=pool_size, pool_timeout=30.0),
            get_updates_request=HTTPXRequest(
                connection_pool_size=2, read_timeout=config.poll_timeout + POLL_READ_MARGIN
            ),
        )
        #: getMe's answer once :meth:`start` returned: ``{"id", "username", "first_name"}``.
        self.me: dict[str, Any] = {}

    async def start(self) -> dict[str, Any]:
        """Open the HTTP pools and check the token with getMe.

        Raises:
            TokenRefused: the Bot API answered 401 or 404 (the token is wrong or revoked).
            telegram.error.NetworkError: the Bot API is unreachable (retry later).
        """
        try:
            await self.bot.initialize()  # opens the pools and calls getMe
        except InvalidToken as exc:
            raise TokenRefused(
                f"the Bot API at {self.config.api_url} refused TELEGRAM_BOT_TOKEN for bot "
                f"{self.config.bot_id} ({exc}): copy the token again from BotFather "
                "(/mybots -> API Token) or revoke and set a new one"
            ) from None
        user = self.bot.bot
        self.me = {"id": user.id, "username": user.username, "first_name": user.first_name}
        return self.me

    async def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """Long-poll for updates after ``offset``; returns the raw JSON objects.

        Passing ``offset`` confirms every update below it: call it only once those are stored.
        """
        params: dict[str, Any] = {"timeout": timeout, "limit": 100}
        if offset is not None:
            params["offset"] = offset
        result = await self.bot.do_api_request(
            "getUpdates", params, read_timeout=timeout + POLL_READ_MARGIN
        )
        return list(result or [])

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Make one Bot API call from the outbox; uploads are turned into ``InputFile``s.

        Raises:
            telegram.error.TelegramError: as PTB maps the answer (RetryAfter for 429,
                BadRequest/Forbidden for refused calls, NetworkError for 5xx and lost
                connections, ChatMigrated when a group became a supergroup).
        """
        kwargs = dict(params)
        for key, value in params.items():
            if isinstance(value, dict) and set(value) == {"bytes", "filename"}:
                kwargs[key] = InputFile(
                    base64.b64decode(value["bytes"]), filename=value["filename"]
                )
        return await self.bot.do_api_request(method, kwargs)

    async def close(self) -> None:
        """Close the HTTP pools."""
        await self.bot.shutdown()
