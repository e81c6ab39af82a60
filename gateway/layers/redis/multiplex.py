"""One pipelined connection per host and event loop for the layer's short commands.

redis-py takes a pooled connection, wraps and retries, records metrics, and waits for each
reply before the next command on that connection: about as much CPU as the round trip
itself. Sends, group operations and received counts are short scripts, so instead every
task writes its command to one shared connection at once and awaits a future; a single
task reads the replies (parsed by hiredis) and resolves the futures in order. Concurrent
callers are pipelined for free.

The connection is opened by redis-py (TLS, AUTH, SELECT and Sentinel discovery stay
redis-py's job); only the command traffic bypasses it, through the connection's streams
(:mod:`gateway.layers.redis.privates`). A lost connection fails every
pending command with a redis ``ConnectionError`` (the layer's retry loop reconnects).
Blocking pops never come here: they hold their own pooled connections.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import hiredis
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from gateway.layers.redis.privates import stream_reader, stream_writer

logger = logging.getLogger("gateway.layers.redis")

# Above this many unsent bytes a caller waits for the socket to drain (back-pressure).
_HIGH_WATER = 1 << 20


class Multiplexer:
    """Pipelines commands from many tasks over one connection of ``pool``."""

    def __init__(self, pool: ConnectionPool, direct: bool = False) -> None:
        #: Direct mode: one task uses the connection through :meth:`call` and reads its own
        #: replies (no reader task, no task switch per reply), e.g. for blocking pops.
        self.direct = direct
        self._parser = hiredis.Reader(replyError=ResponseError)
        self.pool = pool
        self._connection: AbstractConnection | None = None
        self._connecting: asyncio.Lock = asyncio.Lock()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._reader_task: asyncio.Task[None] | None = None

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (bytes, int, list or None).

        Raises:
            redis.exceptions.ResponseError: Redis answered with an error.
            redis.exceptions.ConnectionError: the connection failed or was lost.
        """
        if self._connection is None:
            await self.connect()
        reply = await self.submit(*args)
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    def submit(self, *args: Any) -> asyncio.Future[Any]:
        """Write one command now; the future gets its reply (a ResponseError is a result).

        Call :meth:`connect` first. Replies come in the order commands were submitted.
        """
        connection = self._connection
        writer = None if connection is None else stream_writer(connection)
        if writer is None:
            raise RedisConnectionError("not connected: call connect() first")
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        writer.write(hiredis.pack_command(args))
        if writer.transport.get_write_buffer_size() > _HIGH_WATER:
            # Rare: a huge burst. The reply waits anyway; let the socket catch up meanwhile.
            asyncio.ensure_future(writer.drain())
        return waiter

    async def evalsha(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """Run a registered redis-py Script by SHA, loading it first if Redis lost it."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.execute("SCRIPT", "LOAD", script.script)
        return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)

    async def close(self, reuse: bool = False) -> None:
        """Stop using the connection: give it back to the pool when ``reuse`` and nothing is
        pending (it is healthy), else close it; pending commands fail."""
        connection, self._connection = self._connection, None
        if self._reader_task is not None:
            self._reader_task.cancel()
            await asyncio.gather(self._reader_task, return_exceptions=True)
            self._reader_task = None
        if connection is not None:
            if not (reuse and not self._waiters):
                await connection.disconnect()
            await self.pool.release(connection)
        _fail(self._waiters, RedisConnectionError("connection closed"))

    async def connect(self) -> AbstractConnection:
        """Open the connection if it is not open (raises redis ConnectionError on failure)."""
        async with self._connecting:
            if self._connection is not None:
                return self._connection
            # Held until close(); pool.disconnect() (layer close) closes it too.
            connection: AbstractConnection = await self.pool.get_connection()  # type: ignore[no-untyped-call]
            if stream_reader(connection) is None:
                await connection.connect()  # type: ignore[no-untyped-call]
            # Replies of this connection resolve only its own waiters.
            self._waiters = deque()
            self._parser = hiredis.Reader(replyError=ResponseError)
            self._connection = connection
            if not self.direct:
                self._reader_task = asyncio.get_running_loop().create_task(
                    self._read(connection, self._waiters)
                )
            return connection

    async def call(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Direct mode: write ``commands`` at once, read their replies in this task.

        Error replies are returned as ResponseError instances, not raised.

        Raises:
            redis.exceptions.ConnectionError: the connection failed or was lost.
        """
        if self._connection is None:
            await self.connect()
        self.write(*commands)
        return await self.read(len(commands))

    def write(self, *commands: tuple[Any, ...]) -> None:
        """Direct mode: write ``commands`` now (call :meth:`connect` first); then :meth:`read`."""
        connection = self._connection
        writer = None if connection is None else stream_writer(connection)
        if writer is None:
            raise RedisConnectionError("not connected: call connect() first")
        writer.write(b"".join(hiredis.pack_command(command) for command in commands))

    async def read(self, count: int) -> list[Any]:
        """Direct mode: read the next ``count`` replies (error replies as ResponseError).

        Raises:
            redis.exceptions.ConnectionError: the connection failed or was lost.
        """
        connection = self._connection
        stream = None if connection is None else stream_reader(connection)
        if connection is None or stream is None:
            raise RedisConnectionError("connection closed")
        replies: list[Any] = []
        parser = self._parser
        try:
            while len(replies) < count:
                reply = parser.gets()
                if reply is not False:
                    replies.append(reply)
                    continue
                data = await stream.read(65536)
                if not data:
                    raise RedisConnectionError("connection closed by server")
                parser.feed(data)
        except BaseException as exc:
            # Cut off in the middle of a reply: this connection cannot be used again.
            self._connection = None
            await connection.disconnect()
            await self.pool.release(connection)
            if isinstance(exc, OSError | hiredis.ProtocolError):
                raise RedisConnectionError(f"connection lost: {exc}") from exc
            raise
        return replies

    async def _read(
        self, connection: AbstractConnection, waiters: deque[asyncio.Future[Any]]
    ) -> None:
        parser = hiredis.Reader(replyError=ResponseError)
        stream = stream_reader(connection)
        error: BaseException = RedisConnectionError("connection closed by server")
        try:
            while stream is not None:
                data = await stream.read(65536)
                if not data:
                    break
                parser.feed(data)
                reply = parser.gets()
                while reply is not False:
                    waiter = waiters.popleft()
                    if not waiter.done():
                        waiter.set_result(reply)
                    reply = parser.gets()
        except (OSError, hiredis.ProtocolError) as exc:
            error = RedisConnectionError(f"connection lost: {exc}")
        finally:
            _fail(waiters, error)
            if self._connection is connection:
                self._connection = None
                await connection.disconnect()
                await self.pool.release(connection)


def _fail(waiters: deque[asyncio.Future[Any]], error: BaseException) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_exception(error)
