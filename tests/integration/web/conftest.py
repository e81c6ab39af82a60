"""A real web adapter process for the module, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.web.server import WebServer


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    """One `runadapter web` subprocess with a 1 KiB WebSocket message limit."""
    web = WebServer(WEBSOCKET_MAX_MESSAGE_SIZE="1024")
    yield web
    web.stop()
