"""adapters.web.adapter: settings to uvicorn config, binding errors, and an in-process run."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from adapters.web import WebAdapter
from adapters.web.adapter import GC_THRESHOLDS, bind_socket
from adapters.web.uvicorn_compat import LeanWebSocketProtocol
from gateway.exceptions import ConfigurationError

SETTINGS = SimpleNamespace(
    WEB_HOST="0.0.0.0", PORT=8123, WEBSOCKET_MAX_MESSAGE_SIZE=1000, GATEWAY_SHUTDOWN_TIMEOUT=60.0
)


def test_from_settings_reads_django_settings_and_options_win() -> None:
    adapter = WebAdapter.from_settings(SETTINGS, {"port": None, "host": None})
    assert (adapter.host, adapter.port, adapter.max_message_size) == ("0.0.0.0", 8123, 1000)
    # Heroku kills the dyno 30 s after SIGTERM, whatever the setting says.
    assert adapter.shutdown_timeout < 30
    adapter = WebAdapter.from_settings(SETTINGS, {"port": "9000", "host": "127.0.0.1"})
    assert (adapter.host, adapter.port) == ("127.0.0.1", 9000)


def test_uvicorn_config_uses_the_max_size_and_no_own_logging_or_lifespan() -> None:
    config = WebAdapter(max_message_size=4096).uvicorn_config(lambda *a: None)  # type: ignore[arg-type,return-value]
    assert config.ws_max_size == 4096
    assert config.ws is LeanWebSocketProtocol
    assert config.lifespan == "off"
    assert config.log_config is None


def test_a_non_positive_max_size_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="WEBSOCKET_MAX_MESSAGE_SIZE must be a positive"):
        WebAdapter(max_message_size=0)


def test_a_port_in_use_says_what_to_set() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match="set PORT"):
            bind_socket("127.0.0.1", port)


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


async def test_serve_echoes_then_closes_websockets_with_1012_when_stopped() -> None:
    adapter = WebAdapter(host="127.0.0.1", port=0, max_message_size=100)
    stop = asyncio.Event()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    serving = asyncio.create_task(adapter.serve(echo, stop))
    while adapter.bound_port is None:
        await asyncio.sleep(0)
    async with connect(f"ws://127.0.0.1:{adapter.bound_port}/", compression=None) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        # runadapter owns the signals: uvicorn must not have installed its own.
        assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
        stop.set()
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    await serving
    assert serving.exception() is None
    # Tuned once listening: full collections must not rescan every open connection often.
    assert gc.get_threshold() == GC_THRESHOLDS
