"""The bot's conversation with one identity on one protocol: commands in, replies out.

A protocol's consumer owns one :class:`BotSession`, feeds it what the person typed
(:meth:`BotSession.handle`) and sends back the replies in its own way; room messages from
everyone else arrive at the consumer as ``room.message`` events on the room's group, and alerts
and reports as ``bot.notice`` / ``bot.report`` events. Nothing here knows a protocol.

A conversation the adapter can reach without a scope (``scope["reach"]``, gateway/reach.py:
a Telegram chat, an APRS station) does not join the room's group: its address is stored on
the identity, and :meth:`BotSession.post` sends each room message to the adapter's reach
channel for every such member of the room. So the chat gets the room's messages once, while
its scope is open and after it closed alike. Alerts and reports for it take the same way
(consumers/bot/route.py); every conversation still joins the identity's group, where alerts
go when the identity has no good address (an APRS station not heard for an hour).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from consumers.bot import commands, store
from consumers.bot.commands import Command
from consumers.bot.flood import FloodControl
from consumers.bot.groups import DEVICE_COMMAND, device_group, identity_group
from consumers.bot.route import send_to_reach
from consumers.rooms import (
    GroupSender,
    RoomMessage,
    clean_nick,
    clean_room,
    room_group_name,
    room_key,
    room_message,
)
from consumers.tasks import enqueue_report
from gateway.db import database_sync_to_async
from gateway.exceptions import InvalidInput
from gateway.reach import good_until

logger = logging.getLogger(__name__)

#: /history without N, and the most it shows.
HISTORY_DEFAULT = 10
HISTORY_MAX = 50
#: Protocol -> the ``source`` tag room messages carry.
SOURCE_OF = {"web": "web", "telegram": "telegram", "mqtt": "mqtt", "ax25": "radio", "aprs": "radio"}


class Layer(GroupSender, Protocol):
    """The channel-layer calls a session makes."""

    async def group_add(self, group: str, channel: str) -> None: ...
    async def group_discard(self, group: str, channel: str) -> None: ...
    async def send(self, channel: str, message: dict[str, Any]) -> None: ...


class BotSession:
    """One conversation: who it is, which room it is in, and the commands it may run.

    Args:
        protocol: "web", "telegram", "mqtt", "ax25" or "aprs" (the identity's namespace).
        address: who, on that protocol: a login, a Telegram user id, a callsign-SSID, an MQTT
            sender name.
        nick: the name used when the identity is new.
        layer: the channel layer; ``channel_name``: the consumer's channel.
        user_id: a Django user the conversation is already authenticated as (a web login).
        flood: the per-identity rate limit (default: the process-wide one).
        clock: wall-clock seconds (message timestamps, link-code expiry).
        presence_key: what /who counts this conversation as (default ``channel_name``; a
            consumer serving several people on one channel gives each its own).
        reach: ``scope["reach"]`` when the adapter can reach the conversation without a
            scope: room messages then come through the adapter, not the room's group.
    """

    def __init__(
        self,
        *,
        protocol: str,
        address: str,
        nick: str,
        layer: Layer,
        channel_name: str,
        user_id: int | None = None,
        flood: FloodControl | None = None,
        clock: Callable[[], float] = time.time,
        presence_key: str | None = None,
        reach: dict[str, Any] | None = None,
    ) -> None:
        self.protocol = protocol
        self.source = SOURCE_OF[protocol]
        self.address = address
        self.layer = layer
        self.channel_name = channel_name
        self.presence_key = presence_key or channel_name
        self.flood = flood or FloodControl.default()
        self.clock = clock
        self._nick_hint = nick
        self._user_id = user_id
        self.reach = reach if isinstance(reach, dict) and reach.get("channel") else None
        self.identity: store.IdentityInfo | None = None
        self.room: str | None = None

    @property
    def nick(self) -> str:
        """The name the conversation posts under."""
        return self.identity.nick if self.identity else self._nick_hint

    @property
    def origin(self) -> str:
        """``protocol:address``, carried in room events so a conversation skips its own."""
        return f"{self.protocol}:{self.address}"

    async def start(self) -> store.IdentityInfo:
        """Load (or create) the identity and rejoin the room it was in."""
        try:
            nick = clean_nick(self._nick_hint)
        except InvalidInput:
            nick = "guest"
        self.identity = await database_sync_to_async(store.identify)(
            self.protocol, self.address, nick, self._user_id
        )
        await self.layer.group_add(identity_group(self.protocol, self.address), self.channel_name)
        await self._store_reach()
        if self.identity.room:
            await self._enter(self.identity.room)
        return self.identity

    async def _store_reach(self) -> None:
        """Remember where the adapter reaches this conversation (or that it does not: a
        conversation without a reach replaces the last one's, which may be gone)."""
        assert self.identity is not None
        await database_sync_to_async(store.set_reach)(
            self.identity.id, self.reach, good_until(self.reach, self.clock())
        )

    async def rejoin(self) -> None:
        """Join the identity's and the room's groups again (the channel layer was away and
        may have lost them); starts the session if its start never finished."""
        if self.identity is None:
            await self.start()
            return
        await self.layer.group_add(identity_group(self.protocol, self.address), self.channel_name)
        if self.room is not None and self.reach is None:
            await self.layer.group_add(room_group_name(self.room), self.channel_name)

    async def stop(self) -> None:
        """The conversation ends: leave the groups (the identity stays in its room)."""
        await self.layer.group_discard(
            identity_group(self.protocol, self.address), self.channel_name
        )
        if self.room is not None:
            if self.reach is None:
                await self.layer.group_discard(room_group_name(self.room), self.channel_name)
            await database_sync_to_async(store.exit_room)(self.presence_key)
            self.room = None

    async def handle(self, text: str, *, slash_optional: bool = False) -> list[str]:
        """Run one line the person typed: a command, or a message for the room.

        Returns the replies for this person only (room messages go through the room's group).
        """
        if self.identity is None:
            await self.start()
        elif self.reach is not None and "ttl" in self.reach:
            # The address is good for ttl seconds after the station was last heard.
            await self._store_reach()
        now = self.clock()
        wait = self.flood.check(self.origin, now)
        if wait is not None:
            return [wait] if wait else []
        command = commands.parse(text, slash_optional=slash_optional)
        try:
            if command is None:
                return await self.say(text)
            return await self.run(command)
        except InvalidInput as exc:
            return [str(exc)]

    async def say(self, text: str, ts: float | None = None) -> list[str]:
        """Post to the current room."""
        if self.room is None:
            return ["You are not in a room: /join ROOM first (/rooms lists them)."]
        await self.post(self.room, self.nick, text, ts)
        return []

    async def post(self, room: str, sender: str, text: str, ts: float | None = None) -> None:
        """Store a message and send it to everyone in ``room`` on every protocol."""
        event = room_message(room, sender, text, self.source, self.clock() if ts is None else ts)
        await database_sync_to_async(store.save_message)(event)
        message: dict[str, Any] = dict(event)
        message["origin"] = self.origin
        await self.layer.group_send(room_group_name(event["room"]), message)
        await self.reach_members(event)

    async def reach_members(self, event: RoomMessage) -> None:
        """Send a room message to the members the adapters reach without a scope (every one
        but this identity and this conversation's own address)."""
        exclude = self.identity.id if self.identity else None
        members = await database_sync_to_async(store.reach_members)(
            event["room"], self.clock(), exclude
        )
        own = _address_of(self.reach)
        line = format_room_line(event)
        for reach in members:
            if _address_of(reach) == own:
                continue
            try:
                await send_to_reach(self.layer, reach, line)
            except Exception as exc:  # one unreachable member must not stop the others
                logger.warning(
                    "room message to %r on %s not sent: %s",
                    reach.get("to"),
                    reach.get("channel"),
                    exc,
                )

    async def run(self, command: Command) -> list[str]:
        """Run a parsed command."""
        handler = getattr(self, f"cmd_{command.name}", None)
        if handler is None:
            return [f"Unknown command /{command.name}: /help lists the commands."]
        result: list[str] = await handler(command)
        return result

    async def cmd_help(self, command: Command) -> list[str]:
        slash = self.protocol not in ("ax25", "aprs")
        return ["Commands:", *commands.help_lines(slash=slash)]

    async def cmd_nick(self, command: Command) -> list[str]:
        if not command.rest:
            return [f"You are {self.nick}. Change it with /nick NAME."]
        nick = clean_nick(command.rest)
        assert self.identity is not None
        await database_sync_to_async(store.set_nick)(self.identity.id, nick)
        old = self.nick
        self.identity = _replace(self.identity, nick=nick)
        return [f"You are now {nick} (were {old})."]

    async def cmd_join(self, command: Command) -> list[str]:
        if not command.rest:
            return ["Which room? /join ROOM, e.g. /join lobby"]
        room = clean_room(command.rest)
        if self.room is not None and room_key(room) == room_key(self.room):
            return [f"You are in {self.room} already."]
        await self._leave()
        await self._enter(room)
        assert self.identity is not None
        await database_sync_to_async(store.set_room)(self.identity.id, room)
        members = await database_sync_to_async(store.who)(room)
        return [f"You joined {room} as {self.nick}; {len(members)} here. /history shows recent."]

    async def cmd_leave(self, command: Command) -> list[str]:
        if self.room is None:
            return ["You are not in a room."]
        room = self.room
        await self._leave()
        assert self.identity is not None
        await database_sync_to_async(store.set_room)(self.identity.id, "")
        return [f"You left {room}."]

    async def cmd_rooms(self, command: Command) -> list[str]:
        found = await database_sync_to_async(store.rooms)()
        if not found:
            return ["No rooms have anyone in them: /join ROOM starts one."]
        return ["Rooms: " + ", ".join(f"{name} ({count})" for name, count in found)]

    async def cmd_who(self, command: Command) -> list[str]:
        if self.room is None:
            return ["You are not in a room: /join ROOM first."]
        members = await database_sync_to_async(store.who)(self.room)
        listed = ", ".join(f"{nick} ({protocol})" for nick, protocol in members)
        return [f"In {self.room}: {listed or 'nobody'}"]

    async def cmd_history(self, command: Command) -> list[str]:
        if self.room is None:
            return ["You are not in a room: /join ROOM first."]
        count = HISTORY_DEFAULT
        if command.args:
            if not command.args[0].isdigit() or not 1 <= int(command.args[0]) <= HISTORY_MAX:
                return [f"/history N takes a number from 1 to {HISTORY_MAX}."]
            count = int(command.args[0])
        rows = await database_sync_to_async(store.history)(self.room, count)
        if not rows:
            return [f"No messages in {self.room} yet."]
        return [format_history_line(row) for row in rows]

    async def cmd_devices(self, command: Command) -> list[str]:
        found = await database_sync_to_async(store.devices)()
        if not found:
            return ["No devices have reported yet."]
        now = self.clock()
        return [
            "Devices: "
            + ", ".join(
                f"{d['device_id']} ({'online' if d['online'] else 'offline'}, "
                f"{_ago(now - d['last_seen'])})"
                for d in found
            )
        ]

    async def cmd_status(self, command: Command) -> list[str]:
        if len(command.args) != 1:
            return ["/status ID shows one device: /devices lists them."]
        found = await database_sync_to_async(store.device)(command.args[0])
        if found is None:
            return [f"No device {command.args[0]!r}: /devices lists them."]
        now = self.clock()
        state = "online" if found["online"] else "offline"
        readings = ", ".join(
            f"{key}={value} ({_ago(now - ts)})" for key, (value, ts) in found["values"].items()
        )
        return [f"{found['device_id']} is {state}: {readings or 'no readings'}"]

    async def cmd_set(self, command: Command) -> list[str]:
        if len(command.args) < 3:
            return ["/set ID KEY VALUE, e.g. /set lamp1 power on"]
        device_id, key = command.args[0], command.args[1]
        value = command.rest.split(None, 2)[2]
        assert self.identity is not None
        if not await database_sync_to_async(store.may_control)(self.identity.user_id):
            logger.info("/set %s refused for %s (not authorized)", device_id, self.origin)
            return [
                "Not allowed: /set needs an account with the 'control devices' permission. "
                "Link this identity with /link (docs/bot.md)."
            ]
        if await database_sync_to_async(store.device)(device_id) is None:
            return [f"No device {device_id!r}: /devices lists them."]
        await self.layer.group_send(
            device_group(device_id),
            {
                "type": DEVICE_COMMAND,
                "device_id": device_id,
                "command": {key: value},
                "by": self.identity.username or self.origin,
            },
        )
        logger.info("/set %s %s=%r by %s", device_id, key, value, self.origin)
        return [f"Sent to {device_id}: {key}={value}"]

    async def cmd_watch(self, command: Command) -> list[str]:
        usage = "/watch ID KEY OP VALUE, e.g. /watch boiler temp > 80 (OP: < > <= >=)"
        if len(command.args) != 4:
            return [usage]
        device_id, key, op, raw = command.args
        if op not in store.OPERATORS:
            return [f"Unknown comparison {op!r}: {usage}"]
        try:
            value = float(raw)
        except ValueError:
            return [f"{raw!r} is not a number: {usage}"]
        assert self.identity is not None
        await database_sync_to_async(store.add_watch)(self.identity.id, device_id, key, op, value)
        return [f"Watching {device_id} {key} {op} {value:g}; /unwatch {device_id} stops it."]

    async def cmd_unwatch(self, command: Command) -> list[str]:
        assert self.identity is not None
        device_id = command.args[0] if command.args else None
        count = await database_sync_to_async(store.remove_watches)(self.identity.id, device_id)
        return [f"Stopped {count} watch(es)."]

    async def cmd_link(self, command: Command) -> list[str]:
        assert self.identity is not None
        now = self.clock()
        if command.args:
            username = await database_sync_to_async(store.redeem_link_code)(
                command.args[0], self.identity.id, now
            )
            if username is None:
                return ["That code is unknown or expired: get a new one with /link."]
            self.identity = await database_sync_to_async(store.identify)(
                self.protocol, self.address, self.nick
            )
            return [f"Linked: {self.origin} is now {username}."]
        if self.identity.user_id is None:
            return [
                "This identity is not linked to an account. Log in on the web page and type "
                "/link there for a code, then type /link CODE here."
            ]
        code = await database_sync_to_async(store.new_link_code)(self.identity.user_id, now)
        return [f"Your code: {code}. Type /link {code} on your other protocol within 10 min."]

    async def cmd_report(self, command: Command) -> list[str]:
        if len(command.args) != 2:
            return ["/report ROOM|DEVICE PERIOD, e.g. /report lobby 2h"]
        target = command.args[0]
        try:
            seconds = commands.parse_period(command.args[1])
        except ValueError as exc:
            return [str(exc)]
        await enqueue_report(target, seconds, self)
        return [f"Working on the report for {target}; it comes here when ready."]

    async def _enter(self, room: str) -> None:
        self.room = room
        if self.reach is None:
            await self.layer.group_add(room_group_name(room), self.channel_name)
        assert self.identity is not None
        await database_sync_to_async(store.enter)(
            self.presence_key, self.identity.id, room, self.clock()
        )
        logger.info("%s (%s) joined %r", self.nick, self.origin, room)

    async def _leave(self) -> None:
        if self.room is None:
            return
        if self.reach is None:
            await self.layer.group_discard(room_group_name(self.room), self.channel_name)
        await database_sync_to_async(store.exit_room)(self.presence_key)
        logger.info("%s (%s) left %r", self.nick, self.origin, self.room)
        self.room = None


def _address_of(reach: dict[str, Any] | None) -> tuple[str, str] | None:
    return None if reach is None else (str(reach.get("channel")), repr(reach.get("to")))


def _replace(info: store.IdentityInfo, **changes: Any) -> store.IdentityInfo:
    from dataclasses import replace

    return replace(info, **changes)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, int(seconds))}s ago"
    if seconds < 5400:
        return f"{int(seconds // 60)}m ago"
    if seconds < 172800:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"


def format_history_line(row: dict[str, Any]) -> str:
    """``HH:MM <sender@source> text`` (UTC), for /history."""
    stamp = time.strftime("%H:%M", time.gmtime(row["ts"]))
    return f"{stamp} <{row['sender']}@{row['source']}> {row['text']}"


def format_room_line(event: RoomMessage) -> str:
    """``[room] sender@source: text``: how text protocols show a room message."""
    return f"[{event['room']}] {event['sender']}@{event['source']}: {event['text']}"
