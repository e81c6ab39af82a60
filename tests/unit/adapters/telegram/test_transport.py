"""StreamRequest, the HTTP/1.1 transport under PTB's Bot: keep-alive, chunked answers, closed
idle connections, timeouts, and uploads through httpx (against loopback servers)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram.error import NetworkError, TimedOut

from adapters.telegram.client import BotClient
from adapters.telegram.config import TelegramConfig
from adapters.telegram.transport import StreamRequest
from tests.integration.telegram.fakeapi import TOKEN, FakeBotApi

Answer = Callable[[bytes], bytes | None]


class ScriptedServer:
    """Answers each request with the next scripted bytes (None: close without answering)."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = answers
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.AbstractServer | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/bot{TOKEN}/getMe"


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[list[bytes | None]], Any]]:
    servers: list[ScriptedServer] = []

    async def make(answers: list[bytes | None]) -> ScriptedServer:
        server = ScriptedServer(answers)
        server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(server)
        return server

    yield make
    for server in servers:
        assert server.server is not None
        server.server.close()


def ok(body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def test_keep_alive_reuses_one_connection(scripted: Any) -> None:
    server = await scripted([ok(b'{"ok":true}'), ok(b'{"ok":true,"result":1}')])
    transport = StreamRequest()
    assert await transport.do_request(server.url, "POST") == (200, b'{"ok":true}')
    assert await transport.do_request(server.url, "POST") == (200, b'{"ok":true,"result":1}')
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /bot") and b"Host: 127.0.0.1" in server.requests[0]
    await transport.shutdown()


async def test_chunked_answer_and_connection_close(scripted: Any) -> None:
    chunked = (
        b"HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"ok\r\n6\r\n":fals\r\n2\r\ne}\r\n0\r\n\r\n'
    )
    server = await scripted([chunked, ok(b"{}", "Connection: close"), ok(b"{}")])
    transport = StreamRequest()
    assert await transport.do_request(server.url, "POST") == (502, b'{"ok":false}')
    assert await transport.do_request(server.url, "POST") == (200, b"{}")
    assert await transport.do_request(server.url, "POST") == (200, b"{}")
    assert server.connections == 2  # a new one after "Connection: close"
    await transport.shutdown()


async def test_dropped_connection_is_a_network_error_not_a_retry(scripted: Any) -> None:
    server = await scripted([None, ok(b"{}")])
    transport = StreamRequest()
    with pytest.raises(NetworkError, match="connection to the Bot API failed"):
        await transport.do_request(server.url, "POST")
    assert len(server.requests) == 1  # sent once: the transport never resends a POST
    assert await transport.do_request(server.url, "POST") == (200, b"{}")
    await transport.shutdown()


async def test_no_answer_in_time_is_timed_out(scripted: Any) -> None:
    server = await scripted([b"HTTP/1.1 200 OK\r\n", ok(b"{}")])  # headers never finish
    transport = StreamRequest(read_timeout=0.2)
    with pytest.raises(TimedOut):
        await transport.do_request(server.url, "POST")
    await transport.shutdown()


async def test_form_parameters_and_uploads_reach_the_bot_api() -> None:
    api = FakeBotApi()
    await api.start()
    client = BotClient(TelegramConfig(token=TOKEN, api_url=api.url))
    try:
        await client.start()
        markup = {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
        await client.call("sendMessage", {"chat_id": 5, "text": "hé & co", "reply_markup": markup})
        photo = {"bytes": base64.b64encode(b"\x89PNG...").decode(), "filename": "p.png"}
        await client.call("sendPhoto", {"chat_id": 5, "photo": photo, "caption": "c"})
    finally:
        await client.close()
        await api.stop()
    sent, uploaded = [c.params for c in api.calls if c.method in {"sendMessage", "sendPhoto"}]
    assert sent == {"chat_id": 5, "text": "hé & co", "reply_markup": markup}
    assert uploaded["photo"] == {"filename": "p.png", "size": 7} and uploaded["caption"] == "c"
