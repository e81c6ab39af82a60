"""The stock ``uvicorn project.asgi:application`` (no runadapter, as a Channels project runs
under Daphne or uvicorn) serves our HTTP and WebSocket application.

A uvicorn subprocess on a free loopback port, the in-memory layer (no REDIS_URL), a temporary
SQLite database; a websockets client joins the chat and gets its own room message back through
the channel layer, an HTTP client gets a page, and a foreign Origin is refused. Daphne is
checked the same way by bench/compat_daphne.py (it lives only in a bench reference venv).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.integration.compat.stock_server import (
    chat_round_trip,
    foreign_origin_status,
    http_page,
    stock_server,
)

pytestmark = pytest.mark.integration

UVICORN = [sys.executable, "-m", "uvicorn", "project.asgi:application"]


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("uvicorn")
    with stock_server(
        "uvicorn", [*UVICORN, "--host", "127.0.0.1", "--port", "{port}"], directory
    ) as address:
        yield address


async def test_websocket_chat_answers(uvicorn_server: str) -> None:
    message = await chat_round_trip(uvicorn_server, "uvi", "hello from stock uvicorn")
    assert (message["type"], message["sender"], message["text"]) == (
        "message",
        "uvi",
        "hello from stock uvicorn",
    )


async def test_foreign_origin_is_refused(uvicorn_server: str) -> None:
    assert await foreign_origin_status(uvicorn_server) == 403


def test_http_is_served_by_django(uvicorn_server: str) -> None:
    status, body = http_page(uvicorn_server)
    assert status == 200
    assert b"<html" in body.lower()
