"""Hostile clients on raw sockets against a real `runadapter web` process, DEBUG off.

Every request is answered or closed, and nothing a client does produces a traceback: each
case checks the answer on the wire and the lines the server logged for it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.web.server import WebServer

pytestmark = pytest.mark.integration

#: The HTTP per-line limit is raised over websockets' own 8 KB so both layers are exercised.
PRODUCTION_LIKE = {
    "DEBUG": "0",
    "SECRET_KEY": "integration-test-key",
    "ALLOWED_HOSTS": "127.0.0.1",
    "WEB_MAX_HEADER_LINE": "16384",
    "WEB_HEADER_TIMEOUT": "1",
    "CHAT_RATE_LIMIT": "3/60",
    "CHAT_FLOOD_STRIKES": "3",
}
ANSWER_WAIT = 15.0


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    web = WebServer(**PRODUCTION_LIKE)
    yield web
    web.stop()


class Log:
    """The server's log lines written since the test started."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        self.start = len(server.output)

    def lines(self, settle: float = 0.3) -> list[str]:
        time.sleep(settle)  # the server logs right after answering; not a timing assertion
        return self.server.output[self.start :].splitlines()

    def problems(self) -> list[str]:
        return [
            line
            for line in self.lines()
            if " ERROR " in line or line.startswith("Traceback") or line.startswith("  File ")
        ]


@pytest.fixture
def log(server: WebServer) -> Log:
    return Log(server)


class Raw:
    """One raw TCP connection to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), ANSWER_WAIT)

    async def status(self) -> int:
        line = await asyncio.wait_for(self.reader.readline(), ANSWER_WAIT)
        return int(line.split()[1])


async def open_raw(server: WebServer) -> Raw:
    return Raw(*await asyncio.open_connection("127.0.0.1", server.port))


@pytest.fixture
async def raw(server: WebServer) -> AsyncIterator[Raw]:
    connection = await open_raw(server)
    yield connection
    connection.writer.close()


def upgrade(server: WebServer, path: str = "/ws/chat/", extra: bytes = b"") -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n%s\r\n"
        % (path.encode(), key, server.http.encode(), extra)
    )


def headers_of(count: int) -> bytes:
    return b"".join(b"X-Field-%d: v\r\n" % i for i in range(count))


@pytest.mark.parametrize(
    ("extra", "answer"),
    [
        # Over websockets' 8 KB but under our 16 KB: the sans-I/O handshake's own 431.
        (b"X-Long: " + b"l" * 10_000 + b"\r\n", b"expected no more than 8192 bytes"),
        # Over our 16 KB: the HTTP layer answers before the upgrade.
        (b"X-Long: " + b"l" * 20_000 + b"\r\n", b"header 'X-Long' over 16384 bytes"),
        (headers_of(120), b"more than 100 header fields"),
    ],
    ids=["ws-limit", "http-limit", "count"],
)
async def test_a_handshake_over_the_header_limits_gets_431_and_a_close(
    server: WebServer, raw: Raw, log: Log, extra: bytes, answer: bytes
) -> None:
    await raw.send(upgrade(server, extra=extra))
    response = await raw.answer()  # read() returns only once the server closed
    assert response.startswith(b"HTTP/1.1 431 ")
    assert answer in response
    [line] = [line for line in log.lines() if "answered 431 and closed" in line]
    assert " INFO " in line
    assert log.problems() == []


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-L: " + b"l" * 20_000 + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers_of(150) + b"\r\n", 431),
        (b"GET /healthz?" + b"q" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414),
    ],
    ids=["line", "count", "request-line"],
)
async def test_plain_http_over_the_header_limits_is_answered_and_closed(
    raw: Raw, log: Log, request_bytes: bytes, status: int
) -> None:
    await raw.send(request_bytes)
    assert (await raw.answer()).startswith(b"HTTP/1.1 %d " % status)
    assert log.problems() == []


async def test_an_endless_header_is_cut_off_without_reading_it_all(raw: Raw, log: Log) -> None:
    await raw.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
    sent = 0
    with pytest.raises(ConnectionError):  # the server closes while we are still sending
        while sent < 50 * 1024 * 1024:
            await raw.send(b"e" * 65536)
            sent += 65536
    assert sent < 50 * 1024 * 1024
    assert [line for line in log.lines() if "request headers over 65536 bytes" in line]
    assert log.problems() == []


async def test_a_slow_client_is_answered_408_and_closed(raw: Raw, log: Log) -> None:
    await raw.send(b"GET /healthz HTTP/1.1\r\nHo")  # and never more (WEB_HEADER_TIMEOUT=1)
    response = await raw.answer()
    assert response.startswith(b"HTTP/1.1 408 ")
    assert b"request headers not complete after 1 s" in response
    assert log.problems() == []


async def test_a_request_in_time_is_served(raw: Raw) -> None:
    await raw.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    response = await raw.answer()
    assert response.startswith(b"HTTP/1.1 200 ")
    assert b'"status": "ok"' in response or b'"status":"ok"' in response


async def test_an_unknown_websocket_path_gets_404_and_one_info_line(
    server: WebServer, raw: Raw, log: Log
) -> None:
    await raw.send(upgrade(server, path="/ws/nowhere/"))
    assert (await raw.answer()).startswith(b"HTTP/1.1 404 ")
    lines = log.lines()
    assert [line for line in lines if " INFO " in line and "'/ws/nowhere/'" in line]
    assert log.problems() == []


async def test_invalid_utf8_closes_with_1007_and_one_line(
    server: WebServer, raw: Raw, log: Log
) -> None:
    await raw.send(upgrade(server))
    assert await raw.status() == 101
    await raw.reader.readuntil(b"\r\n\r\n")
    await raw.send(struct.pack("!BB", 0x81, 0x82) + b"\0\0\0\0" + b"\xff\xfe")
    frame = await raw.answer()
    assert frame[:4] == b"\x88\x0f\x03\xef"  # close, 15 bytes, code 1007
    assert [line for line in log.lines() if "not UTF-8" in line and "closed with 1007" in line]
    assert log.problems() == []


async def test_a_chat_flood_gets_a_polite_error_then_1008(server: WebServer, log: Log) -> None:
    async with connect(server.ws + "/ws/chat/", origin=server.http, open_timeout=10) as ws:  # type: ignore[arg-type]
        replies = []
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(10):
                await ws.send("[]")
            while True:
                replies.append(await asyncio.wait_for(ws.recv(), ANSWER_WAIT))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # Three frames within the rate are answered, then one warning; the rest get no reply.
    assert len(replies) == 4
    assert "you are sending too fast (at most 3 every 60 s)" in str(replies[3])
    assert [line for line in log.lines() if "closed with 1008" in line]
    assert log.problems() == []


async def test_a_foreign_host_gets_400_and_one_warning_line(raw: Raw, log: Log) -> None:
    await raw.send(b"GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert await raw.status() == 400
    lines = log.lines()
    assert [line for line in lines if "evil.example" in line] == [
        line for line in lines if " WARNING django.security.DisallowedHost: " in line
    ]
    assert len([line for line in lines if "evil.example" in line]) == 1
    assert log.problems() == []


async def test_over_the_connection_limit_clients_get_503_and_one_line_is_logged() -> None:
    limited = WebServer(
        **(PRODUCTION_LIKE | {"WEB_MAX_CONNECTIONS": "5", "WEB_HEADER_TIMEOUT": "30"})
    )
    try:
        log = Log(limited)
        held = [await open_raw(limited) for _ in range(5)]
        await asyncio.sleep(0.2)  # let the server accept them (order, not timing)
        refused = [await open_raw(limited) for _ in range(3)]
        for connection in refused:
            response = await connection.answer()
            assert response.startswith(b"HTTP/1.1 503 ")
            assert b"retry-after: 5" in response
        lines = log.lines()
        assert len([line for line in lines if "the limit (WEB_MAX_CONNECTIONS)" in line]) == 1
        for connection in held[:2]:
            connection.writer.close()
        await asyncio.sleep(0.2)
        again = await open_raw(limited)
        await again.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert (await again.answer()).startswith(b"HTTP/1.1 200 ")
        assert [line for line in log.lines() if "accepting connections again" in line]
        assert log.problems() == []
    finally:
        limited.stop()
