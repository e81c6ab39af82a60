"""A transport that records what a protocol writes, for driving uvicorn protocols with bytes."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from adapters.web.instrument import InstrumentedApplication
from adapters.web.limits import WebLimits
from adapters.web.uvicorn_compat import LeanWebSocketProtocol, LimitedHttpToolsProtocol
from gateway.clock import FakeClock
from gateway.types import ASGIApp, Message, Receive, Scope, Send


class FakeTransport(asyncio.Transport):
    """Records writes and closes; a protocol sees it as a TCP connection from 127.0.0.1:50000."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        #: Writes after close(): a real transport drops them.
        self.late_writes = 0
        self.reading = True
        self.protocol: asyncio.BaseProtocol | None = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: Any) -> None:
        if self.closed:
            self.late_writes += 1
            return
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    @property
    def status(self) -> int | None:
        """The status code of the first response written, if any."""
        if not self.written.startswith(b"HTTP/1.1 "):
            return None
        return int(self.written[9:12])


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """HTTP: 200 "hello"; WebSocket: accept, then echo text until the client leaves."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})
        return
    message: Message = await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text", "")})


class Server:
    """A uvicorn config and server state for protocols built with these limits and clock."""

    def __init__(
        self, limits: WebLimits | None = None, app: ASGIApp = hello, clock: FakeClock | None = None
    ) -> None:
        self.clock = clock if clock is not None else FakeClock(start=100.0)
        self.limits = limits if limits is not None else WebLimits()
        self.protocol_class = LimitedHttpToolsProtocol.configured(self.limits, self.clock)
        self.config = uvicorn.Config(
            InstrumentedApplication(app),
            http=self.protocol_class,
            ws=LeanWebSocketProtocol,
            lifespan="off",
            log_config=None,
            proxy_headers=False,
        )
        self.config.load()
        self.state = ServerState()

    def connect(self) -> tuple[LimitedHttpToolsProtocol, FakeTransport]:
        """A new connection: its protocol and transport (connection_made already called)."""
        protocol = self.protocol_class(self.config, self.state, app_state={})
        transport = FakeTransport()
        protocol.connection_made(transport)
        return protocol, transport
