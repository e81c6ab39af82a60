"""LimitedHttpToolsProtocol: what a client may send before its request runs, fed as bytes."""

from __future__ import annotations

import asyncio
import logging

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from adapters.web.limits import WebLimits
from adapters.web.uvicorn_compat import LimitedHttpToolsProtocol
from tests.unit.adapters.web.transport import FakeTransport, Server

LIMITS = WebLimits(max_header_line=200, max_headers=5, max_header_bytes=600, header_timeout=10.0)
GET = b"GET / HTTP/1.1\r\nHost: example.com\r\n"


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def feed(protocol: LimitedHttpToolsProtocol, transport: FakeTransport, data: bytes) -> None:
    (transport.protocol or protocol).data_received(data)  # type: ignore[attr-defined]


def web_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("adapters.web")]


async def test_a_request_within_the_limits_is_served() -> None:
    protocol, transport = Server(LIMITS).connect()
    feed(protocol, transport, GET + b"X-A: " + b"a" * 150 + b"\r\n\r\n")
    await settle()
    assert transport.status == 200
    assert b"hello" in transport.written
    assert not transport.closed  # keep-alive


@pytest.mark.parametrize(
    ("request_bytes", "status", "reason"),
    [
        (b"GET /" + b"p" * 250 + b" HTTP/1.1\r\n\r\n", 414, "request line over 200 bytes"),
        (GET + b"X-Long: " + b"l" * 200 + b"\r\n\r\n", 431, "header 'X-Long' over 200 bytes"),
        (GET + b"".join(b"X-%d: v\r\n" % i for i in range(5)) + b"\r\n", 431, "more than 5"),
    ],
    ids=["request-line", "header-line", "header-count"],
)
async def test_over_a_limit_the_client_gets_an_answer_and_a_close(
    request_bytes: bytes, status: int, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = Server(LIMITS)
    protocol, transport = server.connect()
    with caplog.at_level(logging.INFO):
        feed(protocol, transport, request_bytes)
        await settle()
    assert transport.status == status
    assert reason.encode() in transport.written
    assert transport.closed
    assert not server.state.tasks  # the application never ran
    [line] = web_lines(caplog)
    assert line.startswith("web: 127.0.0.1:50000: ") and f"answered {status} and closed" in line


async def test_an_endless_header_is_cut_off_once_the_block_limit_is_passed() -> None:
    protocol, transport = Server(LIMITS).connect()
    feed(protocol, transport, GET + b"X-Endless: ")
    chunks = 0
    while not transport.closed:
        feed(protocol, transport, b"e" * 100)
        chunks += 1
        assert chunks < 10, "the server kept reading past max_header_bytes"
    assert transport.status == 431
    assert b"request headers over 600 bytes" in transport.written


async def test_many_short_lines_count_towards_the_block_limit() -> None:
    limits = WebLimits(max_header_line=200, max_headers=1000, max_header_bytes=600)
    protocol, transport = Server(limits).connect()
    for i in range(100):
        if transport.closed:
            break
        feed(protocol, transport, b"X-%d: v\r\n" % i if i else GET)
    assert transport.status == 431


async def test_a_body_does_not_count_as_header_bytes() -> None:
    protocol, transport = Server(LIMITS).connect()
    body = b"b" * 5000
    request = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    for _ in range(2):  # the second request on the connection is counted afresh too
        feed(protocol, transport, request[:100])
        feed(protocol, transport, request[100:])
        await settle()
    assert transport.written.count(b"HTTP/1.1 200") == 2
    assert not transport.closed


async def test_headers_not_complete_in_time_get_408(caplog: pytest.LogCaptureFixture) -> None:
    server = Server(LIMITS)
    protocol, transport = server.connect()
    feed(protocol, transport, b"GET / HTTP/1.1\r\nHo")
    server.clock.advance(9.9)
    assert not transport.closed
    with caplog.at_level(logging.INFO):
        server.clock.advance(0.1)
    assert transport.status == 408
    assert transport.closed
    assert web_lines(caplog) == [
        "web: 127.0.0.1:50000: request headers not complete after 10 s; answered 408 and closed"
    ]


async def test_a_silent_client_is_closed_after_the_header_timeout() -> None:
    server = Server(LIMITS)
    _protocol, transport = server.connect()
    server.clock.advance(10.0)
    assert transport.status == 408 and transport.closed


async def test_complete_headers_stop_the_timer_and_the_next_request_restarts_it() -> None:
    server = Server(LIMITS)
    protocol, transport = server.connect()
    feed(protocol, transport, GET + b"\r\n")
    await settle()
    server.clock.advance(60.0)  # a keep-alive connection idle between requests: uvicorn's timer
    assert not transport.closed
    assert server.clock.pending_timers == 0
    feed(protocol, transport, b"GET /again HTTP/1.1\r\n")
    assert server.clock.pending_timers == 1
    server.clock.advance(10.0)
    assert transport.closed
    assert transport.written.count(b"HTTP/1.1 200") == 1
    assert b"HTTP/1.1 408" in transport.written


async def test_no_header_timeout_when_turned_off() -> None:
    server = Server(WebLimits(header_timeout=None))
    _protocol, transport = server.connect()
    assert server.clock.pending_timers == 0
    assert not transport.closed


async def test_a_lost_connection_cancels_its_timer() -> None:
    server = Server(LIMITS)
    protocol, _transport = server.connect()
    protocol.connection_lost(None)
    assert server.clock.pending_timers == 0


async def test_invalid_http_gets_400_and_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    protocol, transport = Server(LIMITS).connect()
    with caplog.at_level(logging.INFO):
        feed(protocol, transport, b"\x00\x01 nonsense\r\n\r\n")
    assert transport.status == 400 and transport.closed
    [line] = web_lines(caplog)
    assert "invalid HTTP request" in line


async def test_a_websocket_upgrade_over_the_limits_is_answered_by_the_http_layer() -> None:
    protocol, transport = Server(LIMITS).connect()
    upgrade = (
        b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    feed(protocol, transport, upgrade + b"X-Big: " + b"x" * 300 + b"\r\n\r\n")
    assert transport.status == 431 and transport.closed
    assert transport.protocol is None  # never upgraded


async def test_over_the_connection_limit_a_client_gets_503_and_one_line_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Server(WebLimits(max_connections=2))
    kept = [server.connect() for _ in range(2)]
    with caplog.at_level(logging.INFO):
        refused = [server.connect() for _ in range(3)]
    for protocol, transport in refused:
        assert transport.status == 503 and transport.closed
        assert b"retry-after: 5" in transport.written
        protocol.connection_lost(None)  # uvicorn's state is untouched by a refused connection
    assert len(server.state.connections) == 2
    assert len(caplog.records) == 1
    assert "2 connections open, the limit (WEB_MAX_CONNECTIONS)" in caplog.records[0].getMessage()
    caplog.clear()
    kept[0][0].connection_lost(None)
    with caplog.at_level(logging.INFO):
        _protocol, transport = server.connect()
    assert not transport.closed
    [line] = [r.getMessage() for r in caplog.records]
    assert line == (
        "web: accepting connections again (1 open, limit 2); 3 refused with 503 meanwhile"
    )


def test_uvicorns_protocol_still_has_what_we_rely_on() -> None:
    # data_received is ours, built from these names of uvicorn 0.54 (requirements.txt pins it).
    for name in (
        "_unset_keepalive_if_required",
        "_should_upgrade",
        "handle_websocket_upgrade",
        "send_400_response",
        "_unsupported_upgrade_warning",
        "on_message_begin",
        "on_url",
        "on_header",
        "on_headers_complete",
        "on_message_complete",
    ):
        assert callable(getattr(HttpToolsProtocol, name)), name


async def test_an_upgrade_other_than_websocket_is_served_as_http_with_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    protocol, transport = Server(LIMITS).connect()
    with caplog.at_level(logging.INFO):
        feed(protocol, transport, GET + b"Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        await settle()
    assert transport.status == 200
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "web: 127.0.0.1:50000: Upgrade other than websocket ignored")
    ]
