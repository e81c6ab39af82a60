"""The web chat: one WebSocket per browser tab, speaking small JSON messages.

Client to server::

    {"type": "join", "room": "lobby", "nick": "ana"}    join (or switch to) a room
    {"type": "send", "text": "hello"}                   post to the joined room, or a /command
    {"type": "who"}                                     ask who is in the room

Server to client::

    {"type": "joined", "room": "lobby", "nick": "ana"}
    {"type": "history", "room", "messages": [{"sender", "text", "source", "ts"}, ...]}
    {"type": "message", "room", "sender", "text", "source", "ts"}   a room.message, any protocol
    {"type": "who", "room", "members": [{"nick", "protocol"}, ...]}
    {"type": "reply", "text": "..."}                    the bot's answer to a /command
    {"type": "report", "title", "text", "png"?}         a /report (png: base64 chart)
    {"type": "error", "error": "what went wrong and what to do"}
    {"type": "status", "state": "reconnecting" | "connected"}   the rooms' server (Redis) is away
                                                                 / answers again

A logged-in user's identity is their login (linked to their account); a guest's is the
nickname they chose.

Bad input of any kind (invalid JSON, binary frames, unknown types, bad nicknames) gets an
``error`` reply and the connection stays open.

While the channel layer is unreachable for longer than it waits (``reconnect_timeout``), the
connection stays open: the client gets ``status: reconnecting`` (and an error for a message that
could not be posted), the consumer re-joins its room until the layer answers, then sends
``status: connected``.

Flood control (:mod:`gateway.flood`, settings CHAT_RATE_LIMIT and CHAT_FLOOD_STRIKES): every
frame a connection sends counts; the first one over the rate is dropped with a polite
``error`` reply, later ones are dropped silently, and a connection that keeps going for
CHAT_FLOOD_STRIKES more frames is closed with 1008 (policy violation).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
from typing import Any, ClassVar

from django.conf import settings

from consumers.bot import store
from consumers.bot.commands import Command
from consumers.bot.consumer import BotConsumerMixin
from consumers.rooms import RoomMessage, clean_nick, clean_room, room_key
from gateway.db import database_sync_to_async
from gateway.exceptions import ChannelLayerUnavailable, InvalidInput
from gateway.flood import FloodControl, FloodPolicy, Verdict, parse_windows
from gateway.generic.websocket import AsyncJsonWebsocketConsumer

logger = logging.getLogger(__name__)

#: WebSocket close code 1008: "an endpoint is terminating the connection because it has
#: received a message that violates its policy" (RFC 6455 7.4.1).
POLICY_VIOLATION = 1008

_connection_ids = itertools.count()


def flood_control_from_settings() -> FloodControl:
    """The chat's flood control, from CHAT_RATE_LIMIT and CHAT_FLOOD_STRIKES."""
    windows = parse_windows(getattr(settings, "CHAT_RATE_LIMIT", ""), "CHAT_RATE_LIMIT")
    return FloodControl(FloodPolicy(windows, int(getattr(settings, "CHAT_FLOOD_STRIKES", 10))))


#: Messages of history a browser gets when it joins.
HISTORY_ON_JOIN = 50


class ChatConsumer(BotConsumerMixin, AsyncJsonWebsocketConsumer):
    """Join a room under a nickname, post to it, and see every room message live."""

    echo_own = True
    #: One flood control for every chat connection of the process, keyed by connection;
    #: built from settings when the routes are imported, so a bad CHAT_RATE_LIMIT stops the
    #: process at start-up with a message saying how to write it (tests put their own here).
    flood: ClassVar[FloodControl] = flood_control_from_settings()
    #: Set once we closed the connection.
    closing = False
    #: Re-joins the room while the channel layer is unreachable (None: it answers).
    rejoining: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Accept every connection; the Origin check happens in the middleware stack."""
        self.flood_key = next(_connection_ids)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Leave the room's group so the layer stops delivering to this channel."""
        self.flood.forget(self.flood_key)
        if self.rejoining is not None:
            self.rejoining.cancel()
        await self.bot_stop()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Decode a JSON text frame; a binary frame gets an error reply, not a closed socket."""
        if self.closing:
            return  # frames the client sent before our close arrived: nothing to answer
        flood = self.flood
        verdict = flood.check(self.flood_key)
        if verdict is not Verdict.ALLOW:
            await self._flooding(verdict, flood)
            return
        if text_data is None:
            await self.send_error("binary frames are not understood: send JSON as text")
            return
        await super().receive(text_data=text_data, **kwargs)

    async def receive_invalid_json(self, text_data: str, error: ValueError) -> None:
        """Tell the client its frame was not JSON; the connection stays open."""
        await self.send_error(f'invalid JSON ({error}): send an object like {{"type": "send"}}')

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Route a decoded client message by its "type"."""
        if not isinstance(content, dict):
            await self.send_error('expected a JSON object with a "type" key')
            return
        kind = content.get("type")
        try:
            if kind == "join":
                await self._join(content.get("room"), content.get("nick"))
            elif kind == "send":
                await self._send(content.get("text"))
            elif kind == "who":
                await self._who()
            else:
                raise InvalidInput(f'unknown message type {kind!r}: use "join", "send" or "who"')
        except InvalidInput as exc:
            await self.send_error(str(exc))

    async def show_room_message(self, event: RoomMessage) -> None:
        """Forward a room event (from any protocol) to the browser."""
        await self.send_json(
            {
                "type": "message",
                "room": event["room"],
                "sender": event["sender"],
                "text": event["text"],
                "source": event["source"],
                "ts": event["ts"],
            }
        )

    async def channel_layer_unavailable(self, exc: ChannelLayerUnavailable) -> None:
        """The rooms' server is away: tell the page, keep the socket, re-join until it answers."""
        if self.closing:
            return
        await self.send_error(
            "the chat server is reconnecting to its message store: your last action did not "
            "go through; send it again once the page says connected"
        )
        if self.rejoining is None:
            await self.send_json({"type": "status", "state": "reconnecting"})
            self.rejoining = asyncio.create_task(self._rejoin())

    async def _rejoin(self) -> None:
        # Each attempt waits up to the layer's reconnect_timeout (the layer logs the outage
        # once); nothing else to wait for here.
        while True:
            try:
                if self.bot is not None:
                    await self.bot.rejoin()
                else:
                    await self.channel_layer.group_discard("chat.probe", self.channel_name)
            except ChannelLayerUnavailable:
                continue
            break
        self.rejoining = None
        await self.send_json({"type": "status", "state": "connected"})

    async def send_error(self, error: str) -> None:
        """Reply with an error the page shows to the user."""
        await self.send_json({"type": "error", "error": error})

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # Compact separators: every byte is sent to every member of the room.
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False)

    async def _flooding(self, verdict: Verdict, flood: FloodControl) -> None:
        if verdict is Verdict.WARN:
            await self.send_error(
                f"you are sending too fast (at most {flood.describe()}): that message was not "
                "sent; wait a few seconds"
            )
        elif verdict is Verdict.CLOSE:
            client = self.scope.get("client")
            logger.info(
                "= chat connection from %s (%s) closed with 1008: kept sending over the rate "
                "limit (%s)",
                f"{client[0]}:{client[1]}" if client else "unknown client",
                self.bot.nick if self.bot else "no nickname",
                flood.describe(),
            )
            self.closing = True
            await self.close(code=POLICY_VIOLATION, reason="too many messages")

    async def reply(self, lines: list[str]) -> None:
        """The bot's answer to a command, one frame per line."""
        for line in lines:
            await self.send_json({"type": "reply", "text": line})

    async def bot_report(self, event: dict[str, Any]) -> None:
        """A /report: its text and, when there is one, the chart as base64 PNG."""
        message = {"type": "report", "title": event["title"], "text": event["text"]}
        if event.get("png"):
            message["png"] = base64.b64encode(event["png"]).decode("ascii")
        await self.send_json(message)

    async def _join(self, room: object, nick: object) -> None:
        new_nick = clean_nick(nick)
        new_room = clean_room(room)
        user = self.scope.get("user")
        logged_in = bool(user is not None and getattr(user, "is_authenticated", False))
        address = user.get_username() if logged_in else f"guest:{new_nick.casefold()}"
        bot = await self.bot_start("web", address, new_nick, user.pk if logged_in else None)
        if bot.nick != new_nick:
            await bot.run(Command("nick", (new_nick,), new_nick))
        if bot.room is None or room_key(bot.room) != room_key(new_room):
            await bot.run(Command("join", (new_room,), new_room))
        logger.info("= %s joined room %r from the web", new_nick, new_room)
        await self.send_json({"type": "joined", "room": new_room, "nick": new_nick})
        rows = await database_sync_to_async(store.history)(new_room, HISTORY_ON_JOIN)
        await self.send_json({"type": "history", "room": new_room, "messages": rows})
        await self._who()

    async def _who(self) -> None:
        if self.bot is None or self.bot.room is None:
            raise InvalidInput('join a room first: send {"type": "join", "room", "nick"}')
        members = await database_sync_to_async(store.who)(self.bot.room)
        await self.send_json(
            {
                "type": "who",
                "room": self.bot.room,
                "members": [{"nick": n, "protocol": p} for n, p in members],
            }
        )

    async def _send(self, text: object) -> None:
        if self.bot is None:
            raise InvalidInput('join a room first: send {"type": "join", "room", "nick"}')
        if not isinstance(text, str):
            raise InvalidInput(f"text must be a string, got {type(text).__name__}")
        await self.reply(await self.bot_handle(text))
