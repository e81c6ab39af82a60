"""The linechat adapter: one scope per TCP connection, one event per line (asyncio driver).

Built only on the toolkit: :class:`~gateway.adapter.Adapter` for the process,
:class:`~gateway.runtime.ApplicationRuntime` and ``deliver_by_key`` for the scopes,
:mod:`examples.linechat.protocol` for the bytes. The walk-through is
docs/writing-an-adapter.md.

A connection's scope is the connection: it opens on connect, gets the lines in order, and
when the application's instance ends the connection is closed, so an event it never took is
not given to a new instance (``max_attempts=1``). Back-pressure is per connection:
``deliver_by_key_wait`` waits while this connection's events are not taken, and meanwhile
this connection is not read (TCP pushes back on that client only).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from examples.linechat.protocol import (
    MAX_LINE,
    LineDecoder,
    LineTooLong,
    connect_event,
    disconnect_event,
    encode_line,
    outgoing,
    receive_event,
)
from gateway.adapter import Adapter
from gateway.exceptions import AdapterNotConfigured
from gateway.runtime import ApplicationRuntime, ScopeHandle, ScopeSpec
from gateway.types import ASGIApp, Message

logger = logging.getLogger(__name__)

#: Bytes asked of the socket per read.
READ_SIZE = 65536


class LineChatAdapter(Adapter):
    """Serve line-based TCP chat on ``host:port`` (port 0: any free port, see ``bound_port``).

    Args:
        host: the address to listen on.
        port: the TCP port.
        max_line: the longest line accepted, in bytes; a longer one closes the connection.
        queue_size: events waiting per connection before it stops being read.
        idle_timeout: seconds without a line before a connection's scope is closed (None:
            never).
        shutdown_timeout: how long scopes get to finish at shutdown.
    """

    name: ClassVar[str] = "linechat"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_line: int = MAX_LINE,
        queue_size: int = 16,
        idle_timeout: float | None = None,
        shutdown_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.max_line = max_line
        self.queue_size = queue_size
        self.idle_timeout = idle_timeout
        self.shutdown_timeout = shutdown_timeout
        #: The port actually bound, once serving.
        self.bound_port: int | None = None
        self._ids = itertools.count(1)
        self._connections: dict[int, _Connection] = {}

    @classmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any]) -> LineChatAdapter:
        """Build from ``settings.LINECHAT_PORT`` (and ``LINECHAT_HOST``) or ``--port``/``--host``.

        Raises:
            AdapterNotConfigured: no port is set.
        """
        port = options.get("port") or getattr(settings, "LINECHAT_PORT", None)
        if port is None:
            raise AdapterNotConfigured("set LINECHAT_PORT (e.g. 7000) to enable linechat")
        host = str(options.get("host") or getattr(settings, "LINECHAT_HOST", "127.0.0.1"))
        return cls(
            host,
            int(port),
            shutdown_timeout=float(getattr(settings, "GATEWAY_SHUTDOWN_TIMEOUT", 5.0)),
        )

    def describe(self) -> str:
        """One line for the start-up log."""
        return f"line chat on tcp://{self.host}:{self.port}"

    async def serve(self, application: ASGIApp, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set; then close every scope and connection and return."""
        runtime = ApplicationRuntime(
            application,
            "linechat",
            queue_size=self.queue_size,
            idle_timeout=self.idle_timeout,
            shutdown_timeout=self.shutdown_timeout,
            max_attempts=1,
        )
        server = await asyncio.start_server(
            lambda reader, writer: self._serve_connection(runtime, reader, writer),
            self.host,
            self.port,
        )
        self.bound_port = server.sockets[0].getsockname()[1]
        logger.info("linechat: listening on tcp://%s:%d", self.host, self.bound_port)
        try:
            await stop.wait()
        finally:
            server.close()
            logger.info("linechat: shutting down %d connection(s)", len(self._connections))
            closes = []
            for connection in list(self._connections.values()):
                connection.stopping = True
                handle = runtime.get(connection.key)
                if handle is not None:
                    closes.append(handle.close(disconnect_event("shutdown")))
            # Concurrently: each waits for its instance to end (at most the close grace).
            await asyncio.gather(*closes)
            await runtime.shutdown()
            for connection in list(self._connections.values()):
                connection.writer.close()
            await server.wait_closed()
        logger.info("linechat: stopped")

    async def _serve_connection(
        self,
        runtime: ApplicationRuntime,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        connection = _Connection(next(self._ids), runtime, reader, writer, self.max_line)
        self._connections[connection.key] = connection
        try:
            await connection.run()
        finally:
            del self._connections[connection.key]


class _Connection:
    """One client: its read loop, its scope's opener, its send and on_close."""

    def __init__(
        self,
        key: int,
        runtime: ApplicationRuntime,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        max_line: int,
    ) -> None:
        self.key = key
        self.runtime = runtime
        self.reader = reader
        self.writer = writer
        self.decoder = LineDecoder(max_line)
        self.peer = writer.get_extra_info("peername")
        #: Set once the application's instance has ended (the socket is being closed).
        self.ended = False
        #: Set at shutdown: stop reading, the adapter closes the scope.
        self.stopping = False

    def opener(self) -> ScopeSpec:
        """The scope of this connection (called by the runtime when it has none open)."""
        host, port = (self.peer or ("", 0))[:2]
        return ScopeSpec(
            scope={"type": "linechat", "client": [host, port]},
            send=self.send,
            on_close=self.on_close,
            close_event=disconnect_event("idle"),
        )

    async def run(self) -> None:
        """Read lines and deliver them in order until the client or the application ends."""
        runtime, key = self.runtime, self.key
        logger.debug("linechat %s: connected from %s", key, self.peer)
        await runtime.deliver_by_key_wait(key, connect_event(), self.opener)
        reason = "closed"
        try:
            while not (self.ended or self.stopping):
                data = await self.reader.read(READ_SIZE)
                if not data:
                    break
                for line in self.decoder.feed(data):
                    await runtime.deliver_by_key_wait(key, receive_event(line), self.opener)
        except LineTooLong as exc:
            logger.info("linechat %s: %s: closing", key, exc)
            self.writer.write(encode_line(f"error: {exc}"))
            reason = "too_long"
        except ConnectionError as exc:
            logger.debug("linechat %s: %s", key, exc)
        if not (self.ended or self.stopping):
            # Behind every line already delivered: the instance takes them, then the
            # disconnect event, then ends (cancelled after the close grace if it goes on).
            await runtime.close_by_key(key, disconnect_event(reason))
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        logger.debug("linechat %s: closed (%s)", key, reason)

    async def send(self, message: Message) -> None:
        """Carry out a message of the application: write a line, or close the connection.

        Raises:
            LocalProtocolError: not a ``linechat.send`` / ``linechat.close`` message.
        """
        data = outgoing(message)
        if self.writer.is_closing():
            return  # the client has gone: nothing to write to
        if data is None:
            self.writer.close()
            return
        self.writer.write(data)
        # A client that does not read slows its own scope, not the others.
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def on_close(self, handle: ScopeHandle, exc: BaseException | None) -> None:
        """The instance ended (returned, raised, closed): close the connection."""
        self.ended = True
        self.writer.close()
