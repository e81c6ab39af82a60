"""The stock ``uvicorn project.asgi:application`` (no runadapter, as a Channels project runs
under Daphne or uvicorn) serves our HTTP and WebSocket application.

A uvicorn subprocess on a free loopback port, the in-memory layer (no REDIS_URL), a temporary
SQLite database; a websockets client joins the chat and gets its own room message back through
the channel layer, and an HTTP client gets a page. Daphne is not used (never imported here).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("uvicorn")
    env = os.environ | {
        "DEBUG": "1",
        "SECRET_KEY": "stock-uvicorn-test",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # project.asgi sets project.settings
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "project.settings"},
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (directory / "uvicorn.log").open("wb")
    command = [sys.executable, "-m", "uvicorn", "project.asgi:application"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = (directory / "uvicorn.log").read_text(errors="replace")
                    raise RuntimeError(f"uvicorn did not start:\n{output}") from None
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def test_websocket_chat_answers(uvicorn_server: str) -> None:
    origin = f"http://{uvicorn_server}"
    async with connect(f"ws://{uvicorn_server}/ws/chat/", origin=origin) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "join", "room": "lobby", "nick": "uvi"}))
        assert json.loads(await ws.recv()) == {"type": "joined", "room": "lobby", "nick": "uvi"}
        # The bot follows a join with the room's history and who is there.
        assert json.loads(await ws.recv())["type"] == "history"
        assert json.loads(await ws.recv())["type"] == "who"
        await ws.send(json.dumps({"type": "send", "text": "hello from stock uvicorn"}))
        message = json.loads(await ws.recv())
        assert (message["type"], message["sender"], message["text"]) == (
            "message",
            "uvi",
            "hello from stock uvicorn",
        )


def test_http_is_served_by_django(uvicorn_server: str) -> None:
    with urllib.request.urlopen(f"http://{uvicorn_server}/", timeout=10) as response:
        assert response.status == 200
        assert b"<html" in response.read().lower()
