"""A lean HTTP/1.1 transport for python-telegram-bot's ``Bot`` (a ``BaseRequest``).

PTB's ``Bot`` does the Bot API's work (parameters, error mapping: 429 -> RetryAfter, 409 ->
Conflict...); the transport only moves bytes. PTB's default, ``HTTPXRequest``, costs most of
the CPU of a call (httpx models, httpcore's pool scans, anyio); the Bot API needs far less:
form-encoded POSTs and JSON answers over a few keep-alive connections. ``StreamRequest``
does that on asyncio streams and hands requests with file uploads (multipart) to an
``HTTPXRequest``. It is a documented extension point of PTB (``Bot(request=...)``).

A failure never retries on its own (a POST that reached Telegram must not be sent twice
by the transport): it raises ``NetworkError``/``TimedOut`` and the caller decides.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any
from urllib.parse import urlencode, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]

#: Bodies larger than this are refused (the Bot API's answers are far smaller).
MAX_RESPONSE = 64 * 1024 * 1024


class StreamRequest(BaseRequest):
    """Keep-alive HTTP/1.1 connections to the Bot API host, at most ``connections`` at once.

    Args:
        connections: concurrent requests (and pooled connections) at most.
        read_timeout: seconds to wait for an answer unless the call gives its own.
        connect_timeout: seconds to open a connection.
    """

    def __init__(
        self, connections: int = 4, read_timeout: float = 5.0, connect_timeout: float = 5.0
    ) -> None:
        self._slots = asyncio.Semaphore(connections)
        self._idle: deque[Connection] = deque()
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._ssl: ssl.SSLContext | None = None
        self._uploads = HTTPXRequest(connection_pool_size=1)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB reads it for long polling)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open in advance: connections open on first use."""
        await self._uploads.initialize()

    async def shutdown(self) -> None:
        """Close the pooled connections."""
        while self._idle:
            _, writer = self._idle.popleft()
            writer.close()
        await self._uploads.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return (status, body). Uploads go through httpx.

        Raises:
            TimedOut: no answer within the read timeout, or no connection in time.
            NetworkError: the connection failed or the answer was not HTTP.
        """
        if request_data is not None and request_data.contains_files:
            return await self._uploads.do_request(
                url,
                method,
                request_data,
                read_timeout,
                write_timeout,
                connect_timeout,
                pool_timeout,
            )
        timeout = read_timeout if isinstance(read_timeout, int | float) else self._read_timeout
        parts = urlsplit(url)
        body = urlencode(request_data.json_parameters).encode() if request_data else b""
        head = (
            f"{method} {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\nUser-Agent: {self.USER_AGENT}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        async with self._slots:
            reader, writer = await self._connection(parts.scheme, parts.hostname or "", parts.port)
            try:
                writer.write(head + body)
                status, keep, payload = await asyncio.wait_for(_read_response(reader), timeout)
            except TimeoutError:
                writer.close()
                raise TimedOut(f"no answer from the Bot API within {timeout} s") from None
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                writer.close()
                raise NetworkError(f"connection to the Bot API failed: {exc!r}") from exc
            except BaseException:
                writer.close()
                raise
            if keep:
                self._idle.append((reader, writer))
            else:
                writer.close()
            return status, payload

    async def _connection(self, scheme: str, host: str, port: int | None) -> Connection:
        while self._idle:
            reader, writer = self._idle.popleft()
            # The server may have closed an idle connection: never send on one it closed.
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        secure = scheme == "https"
        if secure and self._ssl is None:
            self._ssl = ssl.create_default_context()
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(
                    host, port or (443 if secure else 80), ssl=self._ssl if secure else None
                ),
                self._connect_timeout,
            )
        except TimeoutError:
            raise TimedOut(
                f"could not connect to {host} within {self._connect_timeout} s"
            ) from None
        except OSError as exc:
            raise NetworkError(f"could not connect to {host}: {exc}") from exc


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Read one HTTP/1.1 response: (status, keep the connection, body)."""
    status_line = await reader.readline()
    if not status_line:
        raise ValueError("the connection closed before an answer")
    version, status, *_ = status_line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise ValueError("the connection closed inside the headers")
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length > MAX_RESPONSE:
            raise ValueError(f"answer of {length} bytes is too large")
        body = await reader.readexactly(length)
    else:
        body, keep = await reader.read(MAX_RESPONSE), False
    return int(status), keep, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
