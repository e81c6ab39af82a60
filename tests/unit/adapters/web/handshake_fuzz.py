"""A fuzz harness for the web adapter's HTTP/WebSocket handshake path, in process.

Hypothesis builds requests near the edge of valid (methods, targets, versions, header names
and values of every shape, upgrade headers, line endings, too many or too long headers,
bodies), or plain random bytes, cuts them into random chunks, and feeds them to a fresh
:class:`~adapters.web.uvicorn_compat.LimitedHttpToolsProtocol` connection; when the request
upgrades, random WebSocket frames follow. The application behind it is the real router stack
(``ProtocolTypeRouter``, ``URLRouter``, the instrument wrapper) with small endpoints.

:func:`exercise` checks, for every input:

- nothing raises out of the protocol, and nothing is logged at ERROR or with a traceback;
- once the header timeout has passed, the connection has been answered or closed.

The suite runs a few hundred examples (tests/unit/adapters/web/test_handshake_fuzz.py);
scripts/fuzz_web_handshake.py runs 100,000 and more (docs/web.md records the run).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from typing import Any

from django.urls import path
from hypothesis import strategies as st

from adapters.web.limits import WebLimits
from gateway.routing import ProtocolTypeRouter, URLRouter
from gateway.types import Receive, Scope, Send
from tests.unit.adapters.web.transport import Server, hello

UPGRADE_HEADERS = [
    (b"Upgrade", b"websocket"),
    (b"Connection", b"Upgrade"),
    (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    (b"Sec-WebSocket-Version", b"13"),
]
NAMES = [
    b"Host",
    b"Upgrade",
    b"Connection",
    b"Sec-WebSocket-Key",
    b"Sec-WebSocket-Version",
    b"Sec-WebSocket-Protocol",
    b"Sec-WebSocket-Extensions",
    b"Content-Length",
    b"Transfer-Encoding",
    b"Expect",
    b"Origin",
    b"Cookie",
]
VALUES = [
    b"websocket",
    b"Upgrade",
    b"upgrade, keep-alive",
    b"13",
    b"8",
    b"dGhlIHNhbXBsZSBub25jZQ==",
    b"not-base64!",
    b"chunked",
    b"gzip, chunked",
    b"100-continue",
    b"permessage-deflate; client_max_window_bits",
    b"chat, superchat",
    b"0",
    b"5",
    b"-1",
    b"99999999999999999999",
    b"",
]


async def _ws_echo(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] != "websocket.disconnect":
        await send({"type": "websocket.send", "text": message.get("text") or "binary"})


async def _ws_refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.close", "code": 1000})


APPLICATION = ProtocolTypeRouter(
    {
        "http": hello,
        "websocket": URLRouter([path("ws/", _ws_echo), path("ws/refuse/", _ws_refuse)]),
    }
)

#: Production's limits, and wide ones that let the `websockets` parser's own limits act.
LIMITS = {
    "default": WebLimits(header_timeout=30.0),
    "wide": WebLimits(
        max_header_line=20_000, max_headers=300, max_header_bytes=400_000, header_timeout=30.0
    ),
}


def _mostly(draw: st.DrawFn, usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> Any:
    """``usual`` nine times in ten, ``rare`` otherwise: near-valid inputs reach deeper code."""
    return draw(rare if draw(st.integers(0, 9)) == 0 else usual)


@st.composite
def _header(draw: st.DrawFn) -> tuple[bytes, bytes]:
    name = _mostly(draw, st.sampled_from(NAMES), st.binary(max_size=24))
    value = _mostly(
        draw,
        st.sampled_from(VALUES),
        st.binary(max_size=64) | st.integers(0, 20_000).map(lambda n: b"v" * n),
    )
    return name, value


@st.composite
def _header_lines(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    headers = draw(st.lists(_header(), max_size=3))
    if draw(st.integers(0, 3)):  # mostly an upgrade
        headers = [*UPGRADE_HEADERS, *headers]
    if draw(st.integers(0, 9)) == 0:  # now and then, far too many
        headers += [(b"X-Many-%d" % i, b"m") for i in range(draw(st.integers(90, 200)))]
    return draw(st.permutations(headers)) if len(headers) < 30 else headers


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request's bytes: near-valid HTTP (often an upgrade), or random bytes."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=400))
    method = _mostly(
        draw, st.just(b"GET"), st.sampled_from([b"POST", b"HEAD", b"CONNECT", b"G\x00T"])
    )
    target = _mostly(
        draw,
        st.sampled_from([b"/", b"/ws/", b"/ws/", b"/ws/refuse/", b"/ws/nowhere/", b"/%ff%00"]),
        st.binary(max_size=40) | st.integers(0, 20_000).map(lambda n: b"/" + b"p" * n),
    )
    version = _mostly(
        draw, st.just(b"HTTP/1.1"), st.sampled_from([b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 ", b""])
    )
    eol = _mostly(draw, st.just(b"\r\n"), st.just(b"\n"))
    lines = [b"%s %s %s" % (method, target, version), b"Host: example.com"]
    lines += [name + b": " + value for name, value in draw(_header_lines())]
    head = eol.join(lines) + eol
    if draw(st.integers(0, 4)):  # most requests end their headers; some never do
        head += eol + _mostly(draw, st.just(b""), st.binary(max_size=200))
    return head


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """Client WebSocket frames (mostly masked, with zeros), valid or not, any opcode."""
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        opcode = draw(st.sampled_from([0x0, 0x1, 0x2, 0x8, 0x9, 0xA]) | st.integers(0, 15))
        fin = draw(st.booleans()) or opcode >= 0x8
        payload = draw(st.binary(max_size=130) | st.sampled_from([b"\xff\xfe", "é".encode()]))
        mask_bit = 0x80 if draw(st.integers(0, 9)) else 0  # unmasked now and then: 1002
        head = bytes([(0x80 if fin else 0) | opcode])
        if len(payload) < 126:
            head += bytes([mask_bit | len(payload)])
        else:
            head += struct.pack("!BH", mask_bit | 126, len(payload))
        out += head + (b"\0\0\0\0" if mask_bit else b"") + payload
    if draw(st.integers(0, 4)) == 0:
        out += draw(st.binary(max_size=50))
    return out


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (taken modulo its length)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


class _Problems(logging.Handler):
    """Collects records at ERROR and above, or with a traceback, from every logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.found.append(f"{record.levelname} {record.name}: {record.getMessage()}")


class Harness:
    """Servers (one per limits variant) on one event loop, reused across examples."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.servers = {name: Server(limits, app=APPLICATION) for name, limits in LIMITS.items()}
        self.problems = _Problems()

    def close(self) -> None:
        self.loop.close()

    def exercise(self, variant: str, request: bytes, cuts: list[int], after: bytes) -> None:
        """Feed one connection; fail if anything raised, logged an error, or hung."""
        root = logging.getLogger()
        root.addHandler(self.problems)
        try:
            self.loop.run_until_complete(self._connection(variant, request, cuts, after))
        finally:
            root.removeHandler(self.problems)
        found, self.problems.found = self.problems.found, []
        assert found == [], f"logged for {request[:200]!r}: {found}"

    async def _connection(
        self, variant: str, request: bytes, cuts: list[int], after: bytes
    ) -> None:
        server = self.servers[variant]
        protocol, transport = server.connect()
        current: Any = protocol
        for chunk in chunked(request, cuts):
            if transport.closed:
                break
            current = transport.protocol or protocol
            current.data_received(chunk)
            await _settle()
        if after and not transport.closed and transport.protocol is not None:
            transport.protocol.data_received(after)  # type: ignore[attr-defined]
            await _settle()
        server.clock.advance(LIMITS[variant].header_timeout or 0.0)
        await _settle()
        assert transport.closed or transport.written, f"no answer and no close: {request[:200]!r}"
        (transport.protocol or protocol).connection_lost(None)  # type: ignore[attr-defined]
        # Told the client left, every application instance ends by itself (some take a few
        # more loop iterations: a pipelined request, a refusal still being written).
        for _ in range(200):
            if not server.state.tasks:
                break
            await asyncio.sleep(0)
        assert not server.state.tasks, f"instances still running after {request[:200]!r}"


async def _settle() -> None:
    for _ in range(6):
        await asyncio.sleep(0)
