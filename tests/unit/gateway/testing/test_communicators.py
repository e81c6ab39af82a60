"""The test communicators: scopes they build, the client side they play, errors they surface."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.exceptions import ConfigurationError, RemoteProtocolError
from gateway.testing import ApplicationCommunicator, HttpCommunicator, WebsocketCommunicator
from tests.unit.gateway.asgi_apps import EchoConsumer, scope_echo


class Boom(Exception):
    """What the applications under test raise."""


async def echo_socket(scope: Any, receive: Any, send: Any) -> None:
    """Accept (with the first offered subprotocol), echo frames, end on disconnect."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            subprotocols = scope["subprotocols"]
            await send(
                {
                    "type": "websocket.accept",
                    "subprotocol": subprotocols[0] if subprotocols else None,
                    "headers": [(b"x-test", b"1")],
                }
            )
        elif message["type"] == "websocket.receive":
            await send(
                {"type": "websocket.send", **{k: v for k, v in message.items() if k != "type"}}
            )
        elif message["type"] == "websocket.disconnect":
            return


def closing_socket(code: int | None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send(
            {"type": "websocket.close"}
            if code is None
            else {"type": "websocket.close", "code": code}
        )
        await receive()

    return app


async def failing_on_connect(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    raise Boom("connect handler failed")


async def failing_on_receive(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    await receive()
    await send({"type": "websocket.send", "text": "last words"})
    raise Boom("receive handler failed")


# Scopes


async def test_websocket_scope_is_complete() -> None:
    communicator = WebsocketCommunicator(
        scope_echo,
        "/chat/caf%C3%A9/?room=1&x=%20",
        headers=[("Origin", "http://example.com"), (b"cookie", b"a=b")],
        subprotocols=["v2.chat", "v1.chat"],
        spec_version="2.3",
    )
    await communicator.send_input({"type": "websocket.connect"})
    scope = (await communicator.receive_output())["scope"]
    assert scope["type"] == "websocket"
    assert scope["path"] == "/chat/café/"
    assert scope["raw_path"] == b"/chat/caf%C3%A9/"
    assert scope["query_string"] == b"room=1&x=%20"
    assert scope["headers"] == [(b"Origin", b"http://example.com"), (b"cookie", b"a=b")]
    assert scope["subprotocols"] == ["v2.chat", "v1.chat"]
    assert scope["scheme"] == "ws"
    assert scope["client"][0] == "127.0.0.1"
    assert scope["server"] == ["testserver", 80]
    assert scope["root_path"] == ""
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert scope["spec_version"] == "2.3"


async def test_http_scope_is_complete() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        request = await receive()
        body = repr((scope["method"], scope["path"], scope["query_string"], request["body"]))
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": body.encode()})

    communicator = HttpCommunicator(app, "post", "/form/?a=1", body=b"x=1", headers={"a": "b"})
    assert communicator.scope["type"] == "http"
    assert communicator.scope["headers"] == [(b"a", b"b")]
    response = await communicator.get_response()
    assert response == {
        "status": 200,
        "headers": [],
        "body": repr(("POST", "/form/", b"a=1", b"x=1")).encode(),
    }


def test_path_must_be_str() -> None:
    with pytest.raises(ConfigurationError, match="must be a str"):
        WebsocketCommunicator(scope_echo, b"/bytes/")  # type: ignore[arg-type]


def test_http_body_must_be_bytes() -> None:
    with pytest.raises(ConfigurationError, match="body must be bytes"):
        HttpCommunicator(scope_echo, "GET", "/", body="text")  # type: ignore[arg-type]


# WebSocket client side


async def test_connect_send_receive_disconnect() -> None:
    communicator = WebsocketCommunicator(echo_socket, "/", subprotocols=["chat"])
    assert await communicator.connect() == (True, "chat")
    assert communicator.response_headers == [(b"x-test", b"1")]
    await communicator.send_to(text_data="hello")
    assert await communicator.receive_from() == "hello"
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert await communicator.receive_from() == b"\x00\x01"
    await communicator.send_json_to({"n": [1, 2]})
    assert await communicator.receive_json_from() == {"n": [1, 2]}
    assert await communicator.receive_nothing()
    await communicator.disconnect()
    assert communicator.future.done()


@pytest.mark.parametrize(("code", "expected"), [(None, 1000), (4003, 4003)])
async def test_refused_connection_gives_close_code(code: int | None, expected: int) -> None:
    communicator = WebsocketCommunicator(closing_socket(code), "/")
    assert await communicator.connect() == (False, expected)
    await communicator.disconnect()


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"text_data": "a", "bytes_data": b"b"}, {"text_data": b"a"}, {"bytes_data": "b"}],
)
async def test_send_to_needs_exactly_one_payload_of_right_type(kwargs: dict[str, Any]) -> None:
    communicator = WebsocketCommunicator(echo_socket, "/")
    with pytest.raises(ConfigurationError):
        await communicator.send_to(**kwargs)
    communicator.stop(exceptions=False)


async def test_connect_answered_by_unexpected_message() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "too early"})

    with pytest.raises(RemoteProtocolError, match=r"websocket\.accept or websocket\.close"):
        await WebsocketCommunicator(app, "/").connect()


async def test_receive_from_checks_message_shape() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "a", "bytes": b"b"})
        await send({"type": "websocket.send", "bytes": b"{}"})
        await send({"type": "websocket.close", "code": 1000})
        await receive()

    communicator = WebsocketCommunicator(app, "/")
    assert (await communicator.connect())[0]
    with pytest.raises(RemoteProtocolError, match="exactly one of 'text' or 'bytes'"):
        await communicator.receive_from()
    with pytest.raises(RemoteProtocolError, match="binary frame"):
        await communicator.receive_json_from()
    with pytest.raises(RemoteProtocolError, match=r"got 'websocket\.close'"):
        await communicator.receive_from()
    await communicator.disconnect()


# Application errors reach the test


@pytest.mark.timeout(30)
async def test_exception_during_connect_is_raised_not_a_timeout() -> None:
    # A timeout far beyond the test's own limit: only an immediate re-raise can pass.
    communicator = WebsocketCommunicator(failing_on_connect, "/")
    with pytest.raises(Boom, match="connect handler failed"):
        await communicator.connect(timeout=3600)


@pytest.mark.timeout(30)
async def test_output_before_failure_comes_first_then_the_exception() -> None:
    communicator = WebsocketCommunicator(failing_on_receive, "/")
    assert await communicator.connect() == (True, None)
    await communicator.send_to(text_data="hi")
    assert await communicator.receive_from(timeout=3600) == "last words"
    with pytest.raises(Boom, match="receive handler failed"):
        await communicator.receive_from(timeout=3600)


@pytest.mark.timeout(30)
async def test_exception_reaches_receive_output_send_input_and_receive_nothing() -> None:
    communicator = ApplicationCommunicator(failing_on_connect, {"type": "mqtt"})
    await communicator.send_input({"type": "mqtt.connect"})
    with pytest.raises(Boom):
        await communicator.receive_output(timeout=3600)
    with pytest.raises(Boom):
        await communicator.send_input({"type": "mqtt.receive"})
    with pytest.raises(Boom):
        await communicator.receive_nothing()


@pytest.mark.timeout(30)
async def test_exception_in_http_app_reaches_get_response() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200})
        raise Boom("half a response")

    with pytest.raises(Boom, match="half a response"):
        await HttpCommunicator(app, "GET", "/").get_response(timeout=3600)


async def test_silent_application_times_out_and_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    communicator = ApplicationCommunicator(app, {"type": "mqtt"})
    with pytest.raises(TimeoutError):
        await communicator.receive_output(timeout=0.05)
    assert cancelled.is_set()
    assert communicator.future.cancelled()


@pytest.mark.timeout(30)
async def test_application_that_returned_gives_timeout_error_at_once() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "only.one"})

    communicator = ApplicationCommunicator(app, {"type": "mqtt"})
    await communicator.send_input({"type": "go"})
    assert await communicator.receive_output() == {"type": "only.one"}
    with pytest.raises(TimeoutError, match="returned without sending"):
        await communicator.receive_output(timeout=3600)


async def test_receive_nothing_is_false_when_something_was_sent() -> None:
    communicator = ApplicationCommunicator(scope_echo, {"type": "mqtt"})
    await communicator.send_input({"type": "go"})
    await communicator.wait()
    assert not await communicator.receive_nothing()
    assert (await communicator.receive_output())["type"] == "echo.scope"


# HTTP responses


async def test_http_response_chunks_are_joined() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": [(b"a", b"1")]})
        await send({"type": "http.response.body", "body": b"one ", "more_body": True})
        await send({"type": "http.response.body", "body": b"two"})

    response = await HttpCommunicator(app, "GET", "/").get_response()
    assert response == {"status": 201, "headers": [(b"a", b"1")], "body": b"one two"}


async def test_http_response_out_of_order_is_refused() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.body", "body": b"no start"})

    with pytest.raises(RemoteProtocolError, match=r"expected http\.response\.start"):
        await HttpCommunicator(app, "GET", "/").get_response()


async def test_consumer_class_is_accepted_as_application() -> None:
    communicator = ApplicationCommunicator(EchoConsumer, {"type": "telegram"})
    await communicator.send_input({"type": "telegram.message"})
    assert (await communicator.receive_output())["name"] == "EchoConsumer"


async def test_scope_can_be_changed_before_connect() -> None:
    # Channels' documented way to give a consumer a user without the auth middleware.
    communicator = WebsocketCommunicator(scope_echo, "/")
    communicator.scope["user"] = "alice"
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output())["scope"]["user"] == "alice"
