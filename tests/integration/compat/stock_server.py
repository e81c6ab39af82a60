"""A stock ASGI server (uvicorn, Daphne) running ``project.asgi:application``, and the checks
a Channels project expects of it: a page over HTTP, a chat round trip over WebSocket through
the channel layer, and a refused foreign Origin.

Shared by tests/integration/compat/test_stock_uvicorn.py and bench/compat_daphne.py (Daphne
lives only in a bench reference venv). The server gets the in-memory layer (no REDIS_URL) and
a temporary SQLite database, and listens on a free loopback port.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

ROOT = Path(__file__).resolve().parents[3]
#: Seconds a server gets to listen before the helper gives up.
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(directory: Path) -> dict[str, str]:
    """The environment of a stock server: DEBUG, a throwaway secret, SQLite under directory."""
    env = os.environ | {
        "DEBUG": "1",
        "SECRET_KEY": "stock-server-check",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # project.asgi sets project.settings
    return env


@contextlib.contextmanager
def stock_server(name: str, command: list[str], directory: Path) -> Iterator[str]:
    """Migrate a fresh database, run ``command --host/--port``-style on a free port, yield
    ``"127.0.0.1:PORT"`` once it accepts connections, and stop it on exit.

    Args:
        name: shown in errors ("uvicorn", "daphne").
        command: the server command without its address; ``{port}`` in an argument is replaced
            by the port (each server spells its address options its own way).
        directory: where the database and the server's log go.

    Raises:
        RuntimeError: the server exited or did not listen within START_TIMEOUT; the message
            holds its log.
    """
    env = server_env(directory)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "project.settings"},
        check=True,
        capture_output=True,
    )
    port = free_port()
    log_path = directory / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [part.replace("{port}", str(port)) for part in command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output = log_path.read_text(errors="replace")
                        raise RuntimeError(f"{name} did not start:\n{output}") from None
                    time.sleep(0.05)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def http_page(address: str) -> tuple[int, bytes]:
    """GET / and return ``(status, body)``."""
    with urllib.request.urlopen(f"http://{address}/", timeout=10) as response:
        return int(response.status), bytes(response.read())


async def chat_round_trip(address: str, nick: str, text: str) -> dict[str, object]:
    """Join the lobby over WebSocket, send ``text``, and return the room message that comes back
    through the channel layer (after the joined/history/who replies, which are checked)."""
    origin = f"http://{address}"
    async with connect(f"ws://{address}/ws/chat/", origin=origin) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "join", "room": "lobby", "nick": nick}))
        joined = json.loads(await ws.recv())
        if joined != {"type": "joined", "room": "lobby", "nick": nick}:
            raise AssertionError(f"expected the joined reply, got {joined!r}")
        # The bot follows a join with the room's history and who is there.
        for expected in ("history", "who"):
            reply = json.loads(await ws.recv())
            if reply.get("type") != expected:
                raise AssertionError(f"expected a {expected!r} reply, got {reply!r}")
        await ws.send(json.dumps({"type": "send", "text": text}))
        message: dict[str, object] = json.loads(await ws.recv())
        return message


async def foreign_origin_status(address: str) -> int | None:
    """Open the chat WebSocket with a foreign Origin; return the HTTP status of the refusal
    (403 expected), or None if the handshake was accepted."""
    try:
        async with connect(
            f"ws://{address}/ws/chat/",
            origin="http://evil.example",  # type: ignore[arg-type]
        ):
            return None
    except InvalidStatus as exc:
        return int(exc.response.status_code)
