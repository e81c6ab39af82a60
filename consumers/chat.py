"""The web chat: one WebSocket per browser tab, speaking small JSON messages.

Client to server::

    {"type": "join", "room": "lobby", "nick": "ana"}    join (or switch to) a room
    {"type": "send", "text": "hello"}                   post to the joined room

Server to client::

    {"type": "joined", "room": "lobby", "nick": "ana"}
    {"type": "message", "room", "sender", "text", "source", "ts"}   a room.message, any protocol
    {"type": "error", "error": "what went wrong and what to do"}

Bad input of any kind (invalid JSON, binary frames, unknown types, bad nicknames) gets an
``error`` reply and the connection stays open.

Flood control (:mod:`gateway.flood`, settings CHAT_RATE_LIMIT and CHAT_FLOOD_STRIKES): every
frame a connection sends counts; the first one over the rate is dropped with a polite
``error`` reply, later ones are dropped silently, and a connection that keeps going for
CHAT_FLOOD_STRIKES more frames is closed with 1008 (policy violation).
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any, ClassVar

from django.conf import settings

from consumers.rooms import RoomMessage, clean_nick, clean_room, post_to_room, room_group_name
from gateway.exceptions import InvalidInput
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


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """Join a room under a nickname, post to it, and see every room message live."""

    room: str | None = None
    nick: str | None = None
    #: One flood control for every chat connection of the process, keyed by connection;
    #: built from settings when the routes are imported, so a bad CHAT_RATE_LIMIT stops the
    #: process at start-up with a message saying how to write it (tests put their own here).
    flood: ClassVar[FloodControl] = flood_control_from_settings()
    #: Set once we closed the connection.
    closing = False

    async def connect(self) -> None:
        """Accept every connection; the Origin check happens in the middleware stack."""
        self.flood_key = next(_connection_ids)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """Leave the room's group so the layer stops delivering to this channel."""
        self.flood.forget(self.flood_key)
        await self._leave()

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
            else:
                raise InvalidInput(f'unknown message type {kind!r}: use "join" or "send"')
        except InvalidInput as exc:
            await self.send_error(str(exc))

    async def room_message(self, event: RoomMessage) -> None:
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
                self.nick or "no nickname",
                flood.describe(),
            )
            self.closing = True
            await self.close(code=POLICY_VIOLATION, reason="too many messages")

    async def _join(self, room: object, nick: object) -> None:
        new_nick = clean_nick(nick)
        new_room = clean_room(room)
        await self._leave()
        self.room, self.nick = new_room, new_nick
        await self.channel_layer.group_add(room_group_name(new_room), self.channel_name)
        logger.info("= %s joined room %r from the web", new_nick, new_room)
        await self.send_json({"type": "joined", "room": new_room, "nick": new_nick})

    async def _leave(self) -> None:
        if self.room is not None:
            await self.channel_layer.group_discard(room_group_name(self.room), self.channel_name)
            self.room = None

    async def _send(self, text: object) -> None:
        if self.room is None or self.nick is None:
            raise InvalidInput('join a room first: send {"type": "join", "room", "nick"}')
        await post_to_room(self.channel_layer, self.room, self.nick, text, "web")
