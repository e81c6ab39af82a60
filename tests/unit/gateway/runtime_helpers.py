"""Toy ASGI applications and adapter-side recorders for the runtime tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Hashable
from typing import Any

from prometheus_client import REGISTRY

from gateway.runtime import ScopeHandle
from gateway.types import Message


def unique_protocol() -> str:
    """A protocol label of its own, so metric assertions see only this test's counts."""
    return f"test-{uuid.uuid4().hex[:8]}"


def sample(name: str, **labels: str) -> float:
    """Current value of a metric sample (0 when it has never been set)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def settle(rounds: int = 10) -> None:
    """Let every ready task run a few steps (no wall-clock waiting)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Recorder:
    """Records what the application did: events taken per scope, messages sent, closes."""

    def __init__(self) -> None:
        self.taken: dict[Hashable, list[Message]] = {}
        self.sent: list[Message] = []
        self.closed: list[tuple[Hashable, BaseException | None]] = []
        self.closed_event = asyncio.Event()
        self.gates: dict[Any, asyncio.Event] = {}

    def gate(self, name: Any) -> asyncio.Event:
        """An event the application waits on when a message carries ``"gate": name``."""
        return self.gates.setdefault(name, asyncio.Event())

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def on_close(self, handle: ScopeHandle, exc: BaseException | None) -> None:
        self.closed.append((handle.key, exc))
        self.closed_event.set()

    def app(self, ignore_close: bool = False) -> Any:
        """An ASGI app: records each event, waits on its gate, raises on "boom", echoes "echo".

        It returns on a "*.disconnect" event unless ``ignore_close`` (then it waits forever).
        """

        async def application(scope: Any, receive: Any, send: Any) -> None:
            key = scope["key"]
            while True:
                message = await receive()
                self.taken.setdefault(key, []).append(message)
                if "gate" in message:
                    await self.gate(message["gate"]).wait()
                if message["type"] == "test.boom":
                    raise RuntimeError(f"boom in {key}")
                if message["type"] == "test.echo":
                    await send({"type": "test.reply", "n": message.get("n")})
                if message["type"].endswith(".disconnect"):
                    if ignore_close:
                        await asyncio.Event().wait()
                    return
                if message["type"] == "test.stop":
                    return

        return application
