"""adapters.web.instrument: counting scopes and events, containing an application's failure."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from prometheus_client import REGISTRY
from uvicorn.protocols.utils import ClientDisconnected

from adapters.web.instrument import InstrumentedApplication


def sample(name: str, protocol: str) -> float:
    return REGISTRY.get_sample_value(name, {"protocol": protocol}) or 0.0


class FakeConnection:
    """The server side of one scope: scripted input, recorded output."""

    def __init__(self, *incoming: dict[str, Any]) -> None:
        self.incoming = list(incoming)
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.incoming.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def echo_then(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    if message.get("text") == "boom":
        raise RuntimeError("boom")
    await send({"type": "websocket.send", "text": message["text"]})


async def test_events_and_open_scopes_are_counted() -> None:
    before_in = sample("gateway_events_in_total", "websocket")
    before_out = sample("gateway_events_out_total", "websocket")
    seen_open: list[float] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen_open.append(sample("gateway_scopes_open", "websocket"))
        await echo_then(scope, receive, send)

    before_open = sample("gateway_scopes_open", "websocket")
    conn = FakeConnection(
        {"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}
    )
    await InstrumentedApplication(app)({"type": "websocket", "path": "/"}, conn.receive, conn.send)
    assert conn.sent[-1] == {"type": "websocket.send", "text": "hi"}
    assert sample("gateway_events_in_total", "websocket") - before_in == 2
    assert sample("gateway_events_out_total", "websocket") - before_out == 2
    assert seen_open == [before_open + 1]
    assert sample("gateway_scopes_open", "websocket") == before_open


async def test_a_raising_websocket_application_closes_with_1011_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = sample("gateway_handler_errors_total", "websocket")
    conn = FakeConnection(
        {"type": "websocket.connect"}, {"type": "websocket.receive", "text": "boom"}
    )
    with caplog.at_level(logging.ERROR, logger="adapters.web.instrument"):
        await InstrumentedApplication(echo_then)(
            {"type": "websocket", "path": "/ws/x/", "client": ("127.0.0.1", 5)},
            conn.receive,
            conn.send,
        )
    assert conn.sent[-1] == {"type": "websocket.close", "code": 1011}
    assert sample("gateway_handler_errors_total", "websocket") - before == 1
    [record] = caplog.records
    assert "websocket '/ws/x/' from 127.0.0.1:5" in record.getMessage()
    assert record.exc_info is not None and str(record.exc_info[1]) == "boom"


async def test_a_websocket_failing_before_accept_gets_a_500_response() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        raise KeyError("no")

    conn = FakeConnection({"type": "websocket.connect"})
    await InstrumentedApplication(app)({"type": "websocket", "path": "/"}, conn.receive, conn.send)
    assert conn.sent[0]["type"] == "websocket.http.response.start"
    assert conn.sent[0]["status"] == 500


async def test_a_raising_http_application_gets_a_500_unless_a_response_started() -> None:
    async def fails_early(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise ValueError("early")

    async def fails_late(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("late")

    early, late = FakeConnection(), FakeConnection()
    await InstrumentedApplication(fails_early)(
        {"type": "http", "path": "/"}, early.receive, early.send
    )
    await InstrumentedApplication(fails_late)(
        {"type": "http", "path": "/"}, late.receive, late.send
    )
    assert [m.get("status") for m in early.sent] == [500, None]
    assert late.sent == [{"type": "http.response.start", "status": 200, "headers": []}]


async def test_a_client_gone_while_reporting_is_not_a_second_error() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        raise RuntimeError("first")

    calls = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if message["type"] == "websocket.close":
            raise OSError("client gone")

    await InstrumentedApplication(app)({"type": "websocket", "path": "/"}, None, send)  # type: ignore[arg-type]
    assert calls == 2


async def test_lifespan_passes_through_uncounted() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await InstrumentedApplication(app)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
    assert REGISTRY.get_sample_value("gateway_scopes_open", {"protocol": "lifespan"}) is None


async def test_a_client_that_left_during_a_send_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "websocket.send", "text": "late"})

    async def send(message: dict[str, Any]) -> None:
        raise ClientDisconnected()

    before = sample("gateway_handler_errors_total", "websocket")
    with caplog.at_level(logging.ERROR):
        await InstrumentedApplication(app)({"type": "websocket", "path": "/"}, None, send)  # type: ignore[arg-type]
    assert sample("gateway_handler_errors_total", "websocket") == before
    assert caplog.records == []
