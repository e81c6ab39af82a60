"""A fake Telegram Bot API server on loopback, speaking the wire format python-telegram-bot uses.

Stdlib asyncio only: HTTP/1.1 with keep-alive, ``application/x-www-form-urlencoded`` and
``multipart/form-data`` request bodies (PTB sends JSON-encoded values in forms), JSON answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description", "parameters"}``.

Methods: getMe, getUpdates (long polling, offsets confirm, 409 for a second concurrent poller
or while a webhook is set), sendMessage, editMessageText, answerCallbackQuery, sendChatAction,
sendPhoto, sendDocument, setWebhook, deleteWebhook, getWebhookInfo. With a webhook set, the
server POSTs each update to it in order with the secret header, retrying until it gets 200.

Tests inject faults with :meth:`FakeBotApi.inject` (429 with retry_after, 5xx, a dropped
connection) and read :attr:`FakeBotApi.calls` (method, params, time received). The server runs
in a thread with its own loop (:class:`FakeBotApiThread`), so a test can drive subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOKEN = "123456:TEST-token-for-the-fake-bot-api-000"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Gateway", "username": "gateway_test_bot"}


@dataclass
class Call:
    """One request the server answered (or dropped)."""

    method: str
    params: dict[str, Any]
    #: time.monotonic() when the request was read completely.
    at: float
    #: The HTTP status answered; 0 for a connection dropped without an answer.
    status: int = 200


@dataclass
class Fault:
    """An answer to give instead of the real one, ``count`` times, for ``method``."""

    method: str
    kind: str  # "429", "5xx", "drop"
    count: int = 1
    retry_after: int = 1
    status: int = 502


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    confirmed: int = 0  # every update_id below this was confirmed by an offset
    webhook_url: str = ""
    webhook_secret: str = ""


class FakeBotApi:
    """The server; create and use inside its loop (see :class:`FakeBotApiThread`)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.faults: deque[Fault] = deque()
        self.state = _State()
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._polling = 0
        self._server: asyncio.AbstractServer | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The base to give TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._webhook_task = asyncio.ensure_future(self._deliver_webhooks())

    async def stop(self) -> None:
        """Stop listening and close connections."""
        if self._webhook_task is not None:
            self._webhook_task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    # --- what tests call ------------------------------------------------------------------

    def add_update(self, update: dict[str, Any]) -> None:
        """Queue an update (its ``update_id`` must grow)."""
        self.state.updates.append(update)
        self._new_update.set()

    def inject(self, fault: Fault) -> None:
        """Answer the next ``fault.count`` calls of ``fault.method`` with the fault."""
        self.faults.append(fault)

    # --- HTTP -----------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                path, headers, body = request
                answer = await self._answer(path, headers, body)
                if answer is None:  # a dropped connection
                    break
                status, payload = answer
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        now = time.monotonic()
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return 404, _error(404, "Not Found")
        token, method = parts[0][3:], parts[1]
        params = _parse_params(headers, body)
        if token != self.token:
            self.calls.append(Call(method, params, now, 401))
            return 401, _error(401, "Unauthorized")
        for fault in self.faults:
            if fault.method == method and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                status = {"drop": 0, "429": 429}.get(fault.kind, fault.status)
                self.calls.append(Call(method, params, now, status))
                if fault.kind == "drop":
                    return None
                if fault.kind == "429":
                    return 429, _error(
                        429,
                        f"Too Many Requests: retry after {fault.retry_after}",
                        {"retry_after": fault.retry_after},
                    )
                return fault.status, _error(fault.status, "Bad Gateway")
        if method == "getUpdates":
            return await self._get_updates(params, now)
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            return 404, _error(404, "Not Found: method not found")
        self.calls.append(Call(method, params, now))
        result = handler(params)
        if isinstance(result, tuple):
            return result
        return 200, {"ok": True, "result": result}

    async def _get_updates(self, params: dict[str, Any], now: float) -> tuple[int, dict[str, Any]]:
        self.calls.append(Call("getUpdates", params, now))
        if self.state.webhook_url:
            return 409, _error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if self._polling:
            return 409, _error(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        self._polling += 1
        try:
            offset = int(params.get("offset", 0) or 0)
            if offset:
                self.state.confirmed = max(self.state.confirmed, offset)
            timeout = float(params.get("timeout", 0) or 0)
            limit = int(params.get("limit", 100) or 100)
            deadline = time.monotonic() + timeout
            while True:
                ready = [u for u in self.state.updates if u["update_id"] >= self.state.confirmed]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return 200, {"ok": True, "result": ready[:limit]}
                self._new_update.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), remaining)
        finally:
            self._polling -= 1

    # --- methods --------------------------------------------------------------------------

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat_type = "private" if chat_id > 0 else "group"
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": BOT_USER,
            **extra,
        }

    def _m_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        if not str(params.get("text", "")).strip():
            return 400, _error(400, "Bad Request: message text is empty")
        if len(str(params["text"])) > 4096:
            return 400, _error(400, "Bad Request: message is too long")
        return self._message(params, text=params["text"])

    def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        return self._message(params, text=params["text"])

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        size = {"file_id": "photo-1", "file_unique_id": "u1", "width": 1, "height": 1}
        return self._message(params, photo=[size])

    def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        return self._message(params, document={"file_id": "doc-1", "file_unique_id": "u2"})

    def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.state.webhook_url = str(params.get("url", ""))
        self.state.webhook_secret = str(params.get("secret_token", ""))
        self._new_update.set()
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.state.webhook_url = ""
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self.state.confirmed = max([u["update_id"] + 1 for u in self.state.updates] or [0])
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        pending = [u for u in self.state.updates if u["update_id"] >= self.state.confirmed]
        return {
            "url": self.state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(pending),
        }

    # --- webhook delivery -----------------------------------------------------------------

    async def _deliver_webhooks(self) -> None:
        """POST unconfirmed updates to the webhook one at a time; 200 confirms one."""
        while True:
            url = self.state.webhook_url
            pending = [u for u in self.state.updates if u["update_id"] >= self.state.confirmed]
            if not url or not pending:
                self._new_update.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), 0.5)
                continue
            update = pending[0]
            status = await _post_json(url, update, self.state.webhook_secret)
            self.calls.append(
                Call("webhook", {"update_id": update["update_id"]}, time.monotonic(), status)
            )
            if status == 200:
                self.state.confirmed = max(self.state.confirmed, update["update_id"] + 1)
            else:
                await asyncio.sleep(0.2)  # Telegram retries failed deliveries later


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        error["parameters"] = parameters
    return error


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    _, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return urlsplit(target).path, headers, body


def _parse_params(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    kind = headers.get("content-type", "")
    params: dict[str, Any] = {}
    if kind.startswith("application/json"):
        params = json.loads(body or b"{}")
    elif kind.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {kind}\r\n\r\n".encode() + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                params[name] = {"filename": part.get_filename(), "size": len(payload)}
            else:
                params[name] = _value(payload.decode())
    else:
        params = {name: _value(value) for name, value in parse_qsl(body.decode())}
    return params


def _value(text: str) -> Any:
    # PTB JSON-encodes non-string values inside forms.
    if text[:1] in "{[" or text in {"true", "false"} or text.lstrip("-").isdigit():
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text


async def _post_json(url: str, payload: dict[str, Any], secret: str) -> int:
    parts = urlsplit(url)
    body = json.dumps(payload).encode()
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    except OSError:
        return 0
    try:
        writer.write(
            f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1]) if status_line else 0
    except (OSError, TimeoutError, ValueError, IndexError):
        return 0
    finally:
        writer.close()


async def _cancel_others() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class FakeBotApiThread:
    """Runs a :class:`FakeBotApi` in a thread with its own event loop.

    Use as a context manager; :meth:`call` runs a function on the server's loop (the server's
    state is only touched there).
    """

    def __init__(self, token: str = TOKEN) -> None:
        self._token = token
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.api: FakeBotApi

    def __enter__(self) -> FakeBotApiThread:
        self._thread.start()
        self.api = self.run(self._create())
        return self

    async def _create(self) -> FakeBotApi:
        api = FakeBotApi(self._token)
        await api.start()
        return api

    def __exit__(self, *exc: object) -> None:
        self.run(self.api.stop())
        self.run(_cancel_others())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        """The base URL for TELEGRAM_API_URL."""
        return self.api.url

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def call(self, function: Any, *args: Any) -> Any:
        """Run ``function(*args)`` on the server's loop and return its result."""

        async def run() -> Any:
            return function(*args)

        return self.run(run())
