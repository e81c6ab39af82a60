"""The linechat example adapter, served in-process, with real TCP clients on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from examples.linechat.adapter import LineChatAdapter
from examples.linechat.consumer import LineChatConsumer
from gateway.exceptions import AdapterNotConfigured
from gateway.layers import InMemoryChannelLayer
from gateway.types import ASGIApp, Receive, Scope, Send
from tests.layer_helpers import installed_layer

pytestmark = pytest.mark.integration


@asynccontextmanager
async def serving(application: ASGIApp, **options: Any) -> AsyncIterator[LineChatAdapter]:
    """Run the adapter on a free port until the block ends; then stop it gracefully."""
    adapter = LineChatAdapter("127.0.0.1", 0, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(adapter.serve(application, stop))
    for _ in range(500):
        if adapter.bound_port is not None or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        await task  # raises what serve() raised
    try:
        yield adapter
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


class Client:
    """A TCP client speaking lines."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, adapter: LineChatAdapter) -> Client:
        assert adapter.bound_port is not None
        return cls(*await asyncio.open_connection("127.0.0.1", adapter.bound_port))

    async def say(self, data: str | bytes) -> None:
        self.writer.write(data if isinstance(data, bytes) else data.encode() + b"\r\n")
        await self.writer.drain()

    async def line(self) -> str:
        data = await asyncio.wait_for(self.reader.readline(), 5)
        assert data, "the server closed the connection"
        return data.decode().rstrip("\r\n")

    async def closed(self) -> bool:
        """True once the server has closed the connection (end of file)."""
        return await asyncio.wait_for(self.reader.read(), 5) == b""

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def layer() -> Any:
    with installed_layer(InMemoryChannelLayer()) as fresh:
        yield fresh


async def test_two_clients_chat_through_the_room(layer: Any) -> None:
    async with serving(LineChatConsumer.as_asgi()) as adapter:
        ann, bob = await Client.connect(adapter), await Client.connect(adapter)
        assert (await ann.line()).startswith("welcome to linechat")
        assert (await bob.line()).startswith("welcome to linechat")
        await ann.say("/nick ann")
        assert await ann.line() == "you are ann"
        await ann.say("hello bob")
        await ann.say("café ☕")
        assert await bob.line() == "<ann> hello bob"
        assert await bob.line() == "<ann> café ☕"
        await bob.say("/quit")
        assert await bob.line() == "bye"
        assert await bob.closed()
        await ann.say("anyone?")  # bob left the room: nothing for him, and no error
        ann.close()


class Recorder:
    """A raw ASGI app: echoes each line; the line "wait" blocks its scope until released."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, dict[str, Any]]] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = tuple(scope["client"])
        while True:
            event = await receive()
            self.events.append((client, event))
            if event["type"] == "linechat.disconnect":
                return
            if event["type"] == "linechat.receive":
                if event["text"] == "wait":
                    await self.release.wait()
                await send({"type": "linechat.send", "text": "echo " + event["text"]})

    def reasons(self) -> list[str]:
        return [e["reason"] for _c, e in self.events if e["type"] == "linechat.disconnect"]


async def until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_a_slow_connection_does_not_hold_up_another_and_keeps_its_order() -> None:
    app = Recorder()
    async with serving(app, queue_size=2) as adapter:
        slow, quick = await Client.connect(adapter), await Client.connect(adapter)
        await slow.say("wait")
        lines = [f"n{i}" for i in range(50)]
        await slow.say(b"".join(f"{text}\n".encode() for text in lines))
        await quick.say("hi")
        assert await quick.line() == "echo hi"  # while the slow scope is still blocked
        app.release.set()
        assert await slow.line() == "echo wait"
        assert [await slow.line() for _ in lines] == [f"echo {text}" for text in lines]
        slow.close()
        quick.close()
        await until(lambda: app.reasons() == ["closed", "closed"])


async def test_a_line_too_long_closes_the_connection() -> None:
    app = Recorder()
    async with serving(app, max_line=16) as adapter:
        client = await Client.connect(adapter)
        await client.say("short")
        assert await client.line() == "echo short"
        await client.say("x" * 40)
        assert (await client.line()).startswith("error: ")
        assert await client.closed()
        await until(lambda: app.reasons() == ["too_long"])


async def test_shutdown_tells_the_scopes_and_closes_the_connections() -> None:
    app = Recorder()
    async with serving(app) as adapter:
        clients = [await Client.connect(adapter) for _ in range(3)]
        for client in clients:
            await client.say("hi")
            assert await client.line() == "echo hi"
    assert app.reasons() == ["shutdown"] * 3
    for client in clients:
        assert await client.closed()


async def test_an_app_error_on_send_reaches_the_app_and_the_connection_closes() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # linechat.connect
        await send({"type": "linechat.send", "text": "before"})
        await send({"type": "websocket.send", "text": "wrong protocol"})  # raises

    async with serving(app) as adapter:
        client = await Client.connect(adapter)
        assert await client.line() == "before"
        assert await client.closed()


def test_from_settings_says_what_to_set() -> None:
    with pytest.raises(AdapterNotConfigured, match="set LINECHAT_PORT"):
        LineChatAdapter.from_settings(SimpleNamespace(), {"port": None, "host": None})
    adapter = LineChatAdapter.from_settings(SimpleNamespace(LINECHAT_PORT=7000), {})
    assert (adapter.host, adapter.port) == ("127.0.0.1", 7000)
