"""What every protocol's bot consumer shares: one :class:`BotSession` per person, and the
handlers for what the bot sends to a conversation (room messages, alerts, reports).

A protocol's consumer mixes :class:`BotConsumerMixin` into its gateway consumer class and
implements two methods: :meth:`~BotConsumerMixin.reply` (lines for this person) and
:meth:`~BotConsumerMixin.show_room_message` (someone's message in the room). Everything else
-- commands, rooms, history, devices, links, reports, flood control -- is the session's.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from consumers.bot.session import BotSession
from consumers.rooms import RoomMessage
from gateway.db import database_sync_to_async

logger = logging.getLogger(__name__)


@database_sync_to_async
def load_user(user_id: int | None) -> User | AnonymousUser:
    """The Django user an identity is linked to, or AnonymousUser."""
    if user_id is None:
        return AnonymousUser()
    return User.objects.filter(pk=user_id).first() or AnonymousUser()


class BotConsumerMixin:
    """Bot plumbing for a gateway consumer (it provides ``scope``, ``channel_layer`` and
    ``channel_name``)."""

    scope: Any
    channel_layer: Any
    channel_name: Any
    #: Whether to show a room message this conversation itself posted (the web page does).
    echo_own = False
    bot: BotSession | None = None

    async def bot_start(
        self, protocol: str, address: str, nick: str, user_id: int | None = None
    ) -> BotSession:
        """Start (once) the session of the person this consumer talks to; sets
        ``scope["user"]`` to the Django user the identity is linked to."""
        if self.bot is None:
            self.bot = BotSession(
                protocol=protocol,
                address=address,
                nick=nick,
                layer=self.channel_layer,
                channel_name=self.channel_name,
                user_id=user_id,
                reach=self.scope.get("reach"),
            )
            identity = await self.bot.start()
            self.scope["user"] = await load_user(identity.user_id)
        return self.bot

    async def bot_handle(self, text: str, *, slash_optional: bool = False) -> list[str]:
        """Run what the person typed; the replies. A /link that changed the identity's user
        changes ``scope["user"]`` too."""
        assert self.bot is not None, "bot_start() first"
        before = self.bot.identity.user_id if self.bot.identity else None
        replies = await self.bot.handle(text, slash_optional=slash_optional)
        after = self.bot.identity.user_id if self.bot.identity else None
        if after != before:
            self.scope["user"] = await load_user(after)
        return replies

    async def bot_stop(self) -> None:
        """Leave the groups; call it when the conversation ends."""
        if self.bot is not None:
            await self.bot.stop()

    async def room_message(self, event: RoomMessage) -> None:
        """A message in the room (from any protocol)."""
        own = self.bot is not None and event.get("origin") == self.bot.origin
        if own and not self.echo_own:
            return
        await self.show_room_message(event)

    async def bot_notice(self, event: dict[str, Any]) -> None:
        """An alert or notice for this identity (a watch fired, a device went offline)."""
        await self.reply([str(event["text"])])

    async def bot_report(self, event: dict[str, Any]) -> None:
        """A /report came back from the worker. Default: its text."""
        await self.reply(str(event["text"]).splitlines())

    async def reply(self, lines: list[str]) -> None:
        """Send lines to this person. Protocols implement it."""
        raise NotImplementedError

    async def show_room_message(self, event: RoomMessage) -> None:
        """Show someone's room message. Protocols implement it."""
        raise NotImplementedError
