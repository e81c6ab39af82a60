"""AsyncHttpConsumer: body accumulation, responses, streaming, disconnects."""

from __future__ import annotations

import pytest

from gateway.exceptions import LocalProtocolError
from gateway.generic.http import AsyncHttpConsumer
from gateway.testing import ApplicationCommunicator, HttpCommunicator


class BodyEcho(AsyncHttpConsumer):
    """Answers with the request body, its method and a header given as a dict."""

    disconnects: list[str] | None = None

    async def handle(self, body):
        await self.send_response(
            201,
            self.scope["method"].encode() + b" " + body,
            headers={"Content-Type": "text/plain"},
        )

    async def disconnect(self):
        if self.disconnects is not None:
            self.disconnects.append(self.scope["path"])


class Streamer(AsyncHttpConsumer):
    async def handle(self, body):
        await self.send_headers(headers=[(b"content-type", b"text/event-stream")])
        for number in range(3):
            await self.send_body(f"data: {number}\n\n".encode(), more_body=True)
        await self.send_body(b"")


HTTP_SCOPE = {"type": "http", "method": "POST", "path": "/echo/", "headers": []}


async def test_send_response_with_dict_headers() -> None:
    communicator = HttpCommunicator(BodyEcho.as_asgi(), "POST", "/echo/", body=b"hello")
    response = await communicator.get_response()
    assert response["status"] == 201
    assert response["headers"] == [(b"Content-Type", b"text/plain")]
    assert response["body"] == b"POST hello"
    await communicator.wait()


async def test_body_is_accumulated_over_more_body() -> None:
    disconnects: list[str] = []
    communicator = ApplicationCommunicator(BodyEcho.as_asgi(disconnects=disconnects), HTTP_SCOPE)
    await communicator.send_input({"type": "http.request", "body": b"one,", "more_body": True})
    await communicator.send_input({"type": "http.request", "more_body": True})
    await communicator.send_input({"type": "http.request", "body": b"two"})
    start = await communicator.receive_output()
    assert start["status"] == 201
    body = await communicator.receive_output()
    assert body == {"type": "http.response.body", "body": b"POST one,two", "more_body": False}
    await communicator.wait()
    assert communicator.future.exception() is None
    assert disconnects == ["/echo/"]


async def test_streamed_response() -> None:
    communicator = HttpCommunicator(Streamer.as_asgi(), "GET", "/events/")
    response = await communicator.get_response()
    assert response["status"] == 200
    assert response["body"] == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"


async def test_client_disconnect_calls_disconnect_and_stops() -> None:
    disconnects: list[str] = []
    communicator = ApplicationCommunicator(BodyEcho.as_asgi(disconnects=disconnects), HTTP_SCOPE)
    await communicator.send_input({"type": "http.request", "body": b"part", "more_body": True})
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait()
    assert communicator.future.exception() is None
    assert communicator.output_queue.empty()
    assert disconnects == ["/echo/"]


async def test_handle_must_be_defined() -> None:
    communicator = HttpCommunicator(AsyncHttpConsumer.as_asgi(), "GET", "/")
    with pytest.raises(NotImplementedError, match="async def handle"):
        await communicator.get_response()


async def test_an_error_in_handle_still_calls_disconnect_and_reaches_the_caller() -> None:
    class Broken(BodyEcho):
        async def handle(self, body):
            raise RuntimeError("handler failed")

    disconnects: list[str] = []
    communicator = HttpCommunicator(Broken.as_asgi(disconnects=disconnects), "GET", "/broken/")
    with pytest.raises(RuntimeError, match="handler failed"):
        await communicator.get_response()
    assert disconnects == ["/broken/"]


async def test_send_body_refuses_text() -> None:
    class Texty(AsyncHttpConsumer):
        async def handle(self, body):
            await self.send_headers()
            await self.send_body("not bytes")

    communicator = HttpCommunicator(Texty.as_asgi(), "GET", "/")
    with pytest.raises(LocalProtocolError, match="needs bytes, got str"):
        await communicator.get_response()
