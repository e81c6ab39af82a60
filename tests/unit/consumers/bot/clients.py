"""One test client per protocol, each driving the bot's consumer through its communicator.

Every client has ``start()``, ``say(text) -> list[str]`` (the bot's lines for this person, in
order; room messages from others are collected in ``room`` instead) and ``stop()``, so a test
can run the same command on every protocol and compare.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from consumers.chat import ChatConsumer
from consumers.mqtt_chat import MqttChatConsumer
from consumers.packet_node import PacketNode
from consumers.radio import RadioBot
from consumers.telegram import TelegramBot
from gateway.testing import (
    ApplicationCommunicator,
    Ax25Communicator,
    TelegramCommunicator,
    WebsocketCommunicator,
)

_ids = itertools.count(5000)
#: How long the bot may take for its first line (database work runs in threads).
FIRST = 5.0
#: How long a test that expects no answer waits for one.
SILENCE = 1.0
#: Quiet time after which a client takes the bot to be done answering.
QUIET = 0.12


async def drain(comm: ApplicationCommunicator, first: float = FIRST) -> list[dict[str, Any]]:
    """Everything the application sends until it is quiet (waiting ``first`` for the start)."""
    out: list[dict[str, Any]] = []
    if first and await comm.receive_nothing(timeout=first, interval=0.02):
        return out
    while not await comm.receive_nothing(timeout=QUIET, interval=0.02):
        out.append(await comm.receive_output())
    return out


class Client:
    """The common shape: subclasses turn outputs into the person's lines."""

    protocol = ""

    def __init__(self, nick: str, room: str) -> None:
        self.nick = nick
        self.room_name = room
        self.room: list[str] = []

    async def start(self) -> None: ...

    async def say(self, text: str, first: float = FIRST) -> list[str]:
        """Type a line; the bot's lines for this person (``first``: how long to wait for
        the first one; tests expecting silence pass a short one)."""
        raise NotImplementedError

    async def stop(self) -> None: ...

    async def more(self, first: float = FIRST) -> list[str]:
        """Lines that arrive without saying anything (room messages, alerts, reports)."""
        raise NotImplementedError


class WebClient(Client):
    protocol = "web"

    async def start(self) -> None:
        self.comm = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
        connected, _ = await self.comm.connect()
        assert connected
        await self.comm.send_json_to({"type": "join", "room": self.room_name, "nick": self.nick})
        frames = await self._frames()
        assert [f["type"] for f in frames] == ["joined", "history", "who"], frames
        self.frames = frames

    async def _frames(self, first: float = FIRST) -> list[dict[str, Any]]:
        return [json.loads(m["text"]) for m in await drain(self.comm, first)]

    def _lines(self, frames: list[dict[str, Any]]) -> list[str]:
        lines = []
        for frame in frames:
            if frame["type"] == "reply":
                lines.append(frame["text"])
            elif frame["type"] == "report":
                lines.extend(frame["text"].splitlines())
                self.report = frame
            elif frame["type"] == "message":
                if frame["sender"] != self.nick:
                    self.room.append(f"{frame['sender']}@{frame['source']}: {frame['text']}")
            elif frame["type"] == "error":
                lines.append(frame["error"])
        return lines

    async def say(self, text: str, first: float = FIRST) -> list[str]:
        await self.comm.send_json_to({"type": "send", "text": text})
        return self._lines(await self._frames(first))

    async def more(self, first: float = FIRST) -> list[str]:
        return self._lines(await self._frames(first))

    async def stop(self) -> None:
        await self.comm.disconnect()


class TelegramClient(Client):
    protocol = "telegram"

    async def start(self) -> None:
        user_id = next(_ids)
        self.comm = TelegramCommunicator(
            TelegramBot.as_asgi(),
            chat_id=user_id,
            user={"id": user_id, "is_bot": False, "first_name": self.nick, "username": self.nick},
        )
        await self.say(f"/join {self.room_name}")

    def _lines(self, out: list[dict[str, Any]]) -> list[str]:
        lines = []
        for message in out:
            if message["type"] == "telegram.photo":
                self.report = message
                lines.extend(message["caption"].splitlines())
                continue
            assert message["type"] == "telegram.message", message
            text = message["text"]
            if text.startswith("["):
                self.room.append(text.split("] ", 1)[1])
            else:
                lines.extend(text.splitlines())
        return lines

    async def say(self, text: str, first: float = FIRST) -> list[str]:
        await self.comm.send_message(text)
        return self._lines(await drain(self.comm, first))

    async def more(self, first: float = FIRST) -> list[str]:
        return self._lines(await drain(self.comm, first))

    async def stop(self) -> None:
        await self.comm.disconnect()


class MqttClient(Client):
    """A chat client on chat/R/in with a "from" name: lines are the bot's JSON answers to it."""

    protocol = "mqtt"

    async def start(self) -> None:
        topic = f"chat/{self.room_name}/in"
        scope = {
            "type": "mqtt",
            "asgi": {"version": "3.0", "spec_version": "1.0"},
            "spec_version": "1.0",
            "mqtt_version": "5",
            "topic": topic,
            "topic_route": {
                "kwargs": {"room": self.room_name},
                "args": (),
                "pattern": "chat/{room}/in",
                "name": None,
            },
            "client_id": "test",
            "broker": "127.0.0.1:1883",
        }
        self.comm = ApplicationCommunicator(MqttChatConsumer.as_asgi(), scope)
        await self.comm.send_input(
            {"type": "mqtt.connect", "topic": topic, "client_id": "test", "session_present": False}
        )
        self.published: list[dict[str, Any]] = []

    def _lines(self, out: list[dict[str, Any]]) -> list[str]:
        lines = []
        for message in out:
            assert message["type"] == "mqtt.publish", message
            assert message["topic"] == f"chat/{self.room_name}/out"
            data = json.loads(message["text"])
            self.published.append(data)
            if data["sender"] == "bot":
                lines.extend(data["text"].splitlines())
            elif data["sender"] != self.nick:
                self.room.append(f"{data['sender']}@{data['source']}: {data['text']}")
        return lines

    async def say(self, text: str, first: float = FIRST) -> list[str]:
        payload = json.dumps({"from": self.nick, "text": text})
        await self.comm.send_input(
            {
                "type": "mqtt.message",
                "topic": f"chat/{self.room_name}/in",
                "payload": payload.encode(),
                "text": payload,
                "qos": 1,
                "retain": False,
                "dup": False,
                "properties": {},
            }
        )
        return self._lines(await drain(self.comm, first))

    async def more(self, first: float = FIRST) -> list[str]:
        return self._lines(await drain(self.comm, first))

    async def stop(self) -> None:
        await self.comm.send_input({"type": "mqtt.disconnect", "reason": "idle"})
        await self.comm.wait()


class LinkClient(Client):
    """A packet terminal connected to BOT-1 (AX.25 connected mode)."""

    protocol = "ax25"

    async def start(self) -> None:
        scope = {"type": "ax25", "mode": "connected", "local": "BOT-1", "remote": self.nick}
        self.comm = ApplicationCommunicator(PacketNode.as_asgi(), scope)
        await self.comm.send_input({"type": "ax25.connect", "outgoing": False})
        out = await drain(self.comm)
        assert out[0] == {"type": "ax25.accept"}
        self.greeting = "".join(m.get("text", "") for m in out[1:])
        await self.say(f"/join {self.room_name}")

    def _lines(self, out: list[dict[str, Any]]) -> list[str]:
        text = "".join(m.get("text", "") for m in out if m["type"] == "ax25.send")
        self.raw = text
        lines = []
        for line in text.split("\r"):
            if not line or line == "BOT-1>":
                continue
            assert len(line) <= 80 and line.isascii(), line
            if line.startswith("["):
                self.room.append(line.split("] ", 1)[1])
            else:
                lines.append(line)
        return lines

    async def say(self, text: str, first: float = FIRST) -> list[str]:
        await self.comm.send_input(
            {"type": "ax25.receive", "text": text + "\r", "bytes": (text + "\r").encode()}
        )
        return self._lines(await drain(self.comm, first))

    async def more(self, first: float = FIRST) -> list[str]:
        return self._lines(await drain(self.comm, first))

    async def stop(self) -> None:
        await self.comm.send_input({"type": "ax25.disconnect", "reason": "peer"})
        await self.comm.wait()


class AprsClient(Client):
    """A station sending APRS messages to BOT-1: each reply part at most 67 characters."""

    protocol = "aprs"

    async def start(self) -> None:
        self.comm = Ax25Communicator(RadioBot, local="BOT-1", remote=self.nick, mode="aprs")
        self.msgno = itertools.count(1)
        await self.say(f"/join {self.room_name}")

    def _lines(self, out: list[dict[str, Any]]) -> list[str]:
        lines = []
        for message in out:
            assert message["type"] == "aprs.message", message
            text = message["text"]
            assert len(text) <= 67 and text.isascii(), text
            if text.startswith("["):
                self.room.append(text.split("] ", 1)[1])
            else:
                lines.extend(text.split("; "))
        return lines

    async def say(self, text: str, first: float = FIRST) -> list[str]:
        await self.comm.send_aprs(text, msgno=str(next(self.msgno)))
        return self._lines(await drain(self.comm, first))

    async def more(self, first: float = FIRST) -> list[str]:
        return self._lines(await drain(self.comm, first))

    async def stop(self) -> None:
        await self.comm.disconnect()


CLIENTS: dict[str, type[Client]] = {
    c.protocol: c for c in (WebClient, TelegramClient, MqttClient, LinkClient, AprsClient)
}
