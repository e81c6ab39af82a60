"""The web adapter as deployed: a `runadapter web` process driven by real clients on loopback."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from email.message import Message
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.web.server import WebServer

pytestmark = pytest.mark.integration


def get(server: WebServer, path: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(server.http + path, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def ws_connect(server: WebServer, path: str = "/ws/chat/", **kwargs: Any) -> Any:
    kwargs.setdefault("origin", server.http)
    return connect(server.ws + path, compression=None, open_timeout=10, **kwargs)


async def receive_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


async def join(ws: ClientConnection, room: str, nick: str) -> None:
    await ws.send(json.dumps({"type": "join", "room": room, "nick": nick}))
    assert await receive_json(ws) == {"type": "joined", "room": room, "nick": nick}
    # The bot follows with the room's history and who is in it.
    assert (await receive_json(ws))["type"] == "history"
    assert (await receive_json(ws))["type"] == "who"


async def closed_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), timeout=10)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_two_clients_chat_in_a_room(server: WebServer) -> None:
    room = f"room {uuid.uuid4().hex[:8]}"
    async with ws_connect(server) as ana, ws_connect(server) as bob:
        await join(ana, room, "ana")
        await join(bob, room, "bob")
        await ana.send(json.dumps({"type": "send", "text": "hello bob"}))
        for ws in (bob, ana):
            message = await receive_json(ws)
            assert message["type"] == "message"
            assert message["room"] == room
            assert (message["sender"], message["text"]) == ("ana", "hello bob")
            assert message["source"] == "web"
            assert isinstance(message["ts"], float)


async def test_another_room_does_not_hear_it(server: WebServer) -> None:
    async with ws_connect(server) as ana, ws_connect(server) as eve:
        await join(ana, f"a-{uuid.uuid4().hex}", "ana")
        await join(eve, f"b-{uuid.uuid4().hex}", "eve")
        await ana.send(json.dumps({"type": "send", "text": "secret"}))
        assert (await receive_json(ana))["text"] == "secret"
        # eve's next message is the reply to her own request, not ana's message.
        await eve.send(json.dumps({"type": "send", "text": "mine"}))
        assert (await receive_json(eve))["text"] == "mine"


async def test_a_message_over_the_limit_closes_with_1009(server: WebServer) -> None:
    async with ws_connect(server) as ws:
        await ws.send("x" * 2000)
        assert await closed_code(ws) == 1009


async def test_invalid_json_gets_an_error_reply_and_the_connection_stays(server: WebServer) -> None:
    async with ws_connect(server) as ws:
        await ws.send("{not json")
        reply = await receive_json(ws)
        assert reply["type"] == "error" and reply["error"].startswith("invalid JSON")
        await ws.send(b"\x00binary")
        assert "binary frames" in (await receive_json(ws))["error"]
        await ws.send(json.dumps({"type": "send", "text": "too early"}))
        assert "join a room first" in (await receive_json(ws))["error"]
        await ws.send(json.dumps({"type": "join", "room": "r", "nick": "<b>"}))
        assert "nickname may use" in (await receive_json(ws))["error"]
        await join(ws, f"still-open-{uuid.uuid4().hex}", "ana")


async def test_a_disallowed_origin_gets_403(server: WebServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with ws_connect(server, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_a_raising_consumer_closes_only_its_own_connection_with_1011(
    server: WebServer,
) -> None:
    async with ws_connect(server, "/ws/boom/") as doomed, ws_connect(server, "/ws/boom/") as other:
        await doomed.send("boom")
        assert await closed_code(doomed) == 1011
        await other.send("still here")
        assert await asyncio.wait_for(other.recv(), timeout=10) == "still here"
    output = server.output
    assert "Traceback" in output
    assert "RuntimeError: boom requested by the test" in output
    assert "'/ws/boom/'" in output


def test_healthz_answers_ok_in_json(server: WebServer) -> None:
    status, headers, body = get(server, "/healthz")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == "ok"


async def test_status_json_and_metrics_count_open_websockets(server: WebServer) -> None:
    async with ws_connect(server) as ws:
        await join(ws, f"metrics-{uuid.uuid4().hex}", "ana")
        await ws.send(json.dumps({"type": "send", "text": "counted"}))
        assert (await receive_json(ws))["text"] == "counted"
        status, _, body = await asyncio.to_thread(get, server, "/status.json")
        data = json.loads(body)
        assert status == 200
        assert data["adapters"]["web"] == {"up": True}
        assert data["scopes_open"]["websocket"] >= 1
        assert data["protocols"]["websocket"]["events_in"] >= 2
        status, headers, text = await asyncio.to_thread(get, server, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    lines = text.decode().splitlines()
    assert any(line.startswith('gateway_scopes_open{protocol="websocket"}') for line in lines)
    assert any(line.startswith('gateway_events_out_total{protocol="websocket"}') for line in lines)
    assert 'gateway_adapter_up{adapter="web"} 1.0' in lines
    assert any(
        line.startswith("gateway_layer_messages_total{") and 'direction="group_send"' in line
        for line in lines
    )


def test_pages_render(server: WebServer) -> None:
    status, _, body = get(server, "/")
    assert status == 200 and b'data-ws-path="/ws/chat/"' in body
    status, _, body = get(server, "/status")
    assert status == 200 and b'data-status-url="/status.json"' in body


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/consumers/chat.js", "javascript"),
        ("/static/consumers/status.js", "javascript"),
        ("/static/consumers/style.css", "text/css"),
    ],
)
def test_static_files_are_served(server: WebServer, path: str, content_type: str) -> None:
    status, headers, body = get(server, path)
    assert status == 200
    assert content_type in headers["Content-Type"]
    assert body


async def test_sigterm_closes_websockets_with_1012_and_exits_cleanly() -> None:
    web = WebServer()
    try:
        async with ws_connect(web) as ws:
            await join(ws, f"bye-{uuid.uuid4().hex}", "ana")
            exit_code = asyncio.create_task(asyncio.to_thread(web.terminate))
            assert await closed_code(ws) == 1012
            assert await exit_code == 0
        assert "web: shutting down" in web.output
        assert "web: stopped" in web.output
    finally:
        web.stop()
