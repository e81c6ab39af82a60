"""uvicorn_compat and instrument: WebSocket handshakes and frames from hostile clients.

The connection starts as HTTP (LimitedHttpToolsProtocol) and is upgraded, as in production;
the HTTP limits are raised here so the `websockets` handshake parser's own limits (8 KB per
line, 128 headers) are the ones hit.
"""

from __future__ import annotations

import asyncio
import logging
import struct

import pytest

from adapters.web.limits import WebLimits
from gateway.exceptions import NoRouteFound
from gateway.types import Receive, Scope, Send
from tests.unit.adapters.web.transport import FakeTransport, Server

WIDE = WebLimits(max_header_line=20_000, max_headers=500, max_header_bytes=200_000)
UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (zero mask, so the payload reads as is)."""
    assert len(payload) < 126
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + b"\0\0\0\0" + payload


def connect(server: Server, request: bytes) -> FakeTransport:
    protocol, transport = server.connect()
    protocol.data_received(request)
    return transport


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING or r.exc_info
    ]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (b"X-Long: " + b"l" * 9000 + b"\r\n", b"expected no more than 8192 bytes"),
        (b"".join(b"X-%d: v\r\n" % i for i in range(130)), b"no more than 128 headers"),
    ],
    ids=["long-line", "many-headers"],
)
async def test_a_handshake_websockets_refuses_is_answered_and_closed(
    extra: bytes, why: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    server = Server(WIDE)
    with caplog.at_level(logging.INFO):
        transport = connect(server, UPGRADE + extra + b"\r\n")
        await settle()
    assert transport.status == 431
    assert why in transport.written
    assert transport.closed
    assert not server.state.tasks  # no application instance was started
    [line] = [r.getMessage() for r in caplog.records if r.name == "adapters.web.uvicorn_compat"]
    assert line.startswith("web: 127.0.0.1:50000: WebSocket handshake refused (")
    assert line.endswith("answered 431 and closed")
    assert problems(caplog) == []


async def test_a_handshake_websockets_cannot_parse_gets_400() -> None:
    server = Server(WIDE)
    protocol, transport = server.connect()
    # httptools takes an obsolete line folding ("\r\n continued") that websockets refuses.
    protocol.data_received(UPGRADE + b"X-Folded: a\r\n folded\r\n\r\n")
    await settle()
    assert transport.status == 400 and transport.closed


async def test_valid_text_is_echoed_and_invalid_utf8_closes_with_1007(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = connect(Server(WIDE), UPGRADE + b"\r\n")
    await settle()
    assert transport.status == 101
    ws = transport.protocol
    assert ws is not None
    ws.data_received(client_frame(0x1, "héllo".encode()))  # type: ignore[attr-defined]
    await settle()
    assert transport.written.endswith(b"\x81\x06" + "héllo".encode())
    with caplog.at_level(logging.INFO):
        ws.data_received(client_frame(0x1, b"\xff\xfe"))  # type: ignore[attr-defined]
        await settle()
    assert transport.written.endswith(b"\x88\x0f\x03\xefinvalid UTF-8")  # close 1007
    assert transport.closed
    assert [r.getMessage() for r in caplog.records] == [
        "web: 127.0.0.1:50000: text message is not UTF-8 (invalid start byte); closed with 1007"
    ]


async def no_route(scope: Scope, receive: Receive, send: Send) -> None:
    raise NoRouteFound(f"no route found for path {scope['path']!r}")


@pytest.mark.parametrize("request_bytes", [UPGRADE + b"\r\n", b"GET /ws HTTP/1.1\r\n\r\n"])
async def test_an_unknown_path_gets_404_and_one_info_line(
    request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        transport = connect(Server(WIDE, app=no_route), request_bytes)
        await settle()
    assert transport.status == 404
    assert b"not found\n" in transport.written
    assert problems(caplog) == []
    [line] = [r.getMessage() for r in caplog.records if r.name.startswith("adapters.web")]
    assert "no route found for path '/ws'; answered 404" in line


async def routes_after_accepting(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    raise NoRouteFound("a consumer routing something of its own, wrongly")


async def test_no_route_found_after_accepting_is_our_bug_1011_and_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = connect(Server(WIDE, app=routes_after_accepting), UPGRADE + b"\r\n")
    await settle()
    assert transport.written.endswith(b"\x88\x02\x03\xf3")  # close 1011
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.exc_info is not None


async def refuses_with_500(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    raise RuntimeError("a bug before accepting")


async def test_a_refusal_sent_as_http_is_not_reported_as_an_incomplete_handshake(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = connect(Server(WIDE, app=refuses_with_500), UPGRADE + b"\r\n")
    await settle()
    assert transport.status == 500
    # Our bug: one ERROR with its traceback; uvicorn adds nothing about the handshake.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "application raised while handling websocket '/ws' from 127.0.0.1:50000"
    ]


async def answers_late(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    await asyncio.sleep(0)  # the client's next frame arrives while we handle this one
    await asyncio.sleep(0)
    await send({"type": "websocket.send", "text": message["text"]})


async def test_an_answer_after_the_client_broke_the_protocol_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = connect(Server(WIDE, app=answers_late), UPGRADE + b"\r\n")
    await settle()
    ws = transport.protocol
    assert ws is not None
    ws.data_received(client_frame(0x1, b"first"))  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    ws.data_received(client_frame(0x1, b"\x80"))  # type: ignore[attr-defined]
    await settle()
    assert transport.written.endswith(b"\x88\x0f\x03\xefinvalid UTF-8")
    assert problems(caplog) == []


def test_uvicorns_websocket_protocol_still_has_what_we_rely_on() -> None:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    for name in ("handle_events", "handle_parser_exception", "keepalive_timeout"):
        assert callable(getattr(WebSocketsSansIOProtocol, name)), name
    for name in ("conn", "frames", "curr_msg_data_type", "read_paused", "close_sent"):
        assert name in WebSocketsSansIOProtocol.__init__.__code__.co_names, name
