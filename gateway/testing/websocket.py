"""WebsocketCommunicator: play a WebSocket client against an application, in-process."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from gateway.exceptions import ConfigurationError, RemoteProtocolError, UnexpectedMessage
from gateway.testing.application import ApplicationCommunicator
from gateway.testing.scope import connection_scope
from gateway.utils import Headers


class WebsocketCommunicator(ApplicationCommunicator):
    """A WebSocket connection to ``application`` at ``path``, driven by the test.

    Example::

        communicator = WebsocketCommunicator(application, "/chat/lobby/?v=2")
        connected, subprotocol = await communicator.connect()
        assert connected
        await communicator.send_json_to({"text": "hi"})
        assert await communicator.receive_json_from() == {"echo": "hi"}
        await communicator.disconnect()
    """

    def __init__(
        self,
        application: Any,
        path: str,
        headers: Headers | None = None,
        subprotocols: Iterable[str] | None = None,
        spec_version: str | None = None,
    ) -> None:
        """Build the scope; nothing runs until connect().

        Args:
            application: an ASGI application or a consumer class.
            path: the request path, with an optional query string.
            headers: handshake headers (pairs or a mapping, bytes or str), e.g. ``Origin``.
            subprotocols: the subprotocols the client offers.
            spec_version: the ASGI WebSocket spec version to put in the scope.
        """
        scope = connection_scope("websocket", path, "ws", headers, spec_version)
        scope["subprotocols"] = list(subprotocols or [])
        super().__init__(application, scope)
        #: Headers the application sent with websocket.accept (after connect()).
        self.response_headers: list[Any] | None = None

    async def connect(self, timeout: float = 1) -> tuple[bool, str | int | None]:
        """Send ``websocket.connect`` and wait for the application's answer.

        Returns:
            ``(True, subprotocol or None)`` when accepted, ``(False, close code)`` when refused
            (code 1000 if the application gave none).

        Raises:
            UnexpectedMessage: the application answered with another message type (an
                AssertionError too, as Channels asserts).
            Exception: whatever the application raised.
        """
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        if response["type"] != "websocket.accept":
            raise UnexpectedMessage(
                "expected websocket.accept or websocket.close in answer to websocket.connect, "
                f"got {response['type']!r}"
            )
        # As the application sent them (pairs may be lists or tuples), as in Channels.
        self.response_headers = response.get("headers", [])
        return True, response.get("subprotocol")

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send one frame: exactly one of ``text_data`` (str) or ``bytes_data`` (bytes).

        Raises:
            ConfigurationError: both or neither were given, or of the wrong type.
        """
        if (text_data is None) == (bytes_data is None):
            raise ConfigurationError("pass exactly one of text_data or bytes_data")
        if text_data is not None:
            if not isinstance(text_data, str):
                raise ConfigurationError(f"text_data must be a str, got {type(text_data).__name__}")
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            if not isinstance(bytes_data, bytes):
                raise ConfigurationError(
                    f"bytes_data must be bytes, got {type(bytes_data).__name__}"
                )
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data: Any) -> None:
        """Send ``data`` encoded as JSON in a text frame."""
        await self.send_to(text_data=json.dumps(data))

    async def receive_from(self, timeout: float = 1) -> str | bytes:
        """Return the payload of the next frame the application sends (str or bytes).

        Raises:
            UnexpectedMessage: the next message is not ``websocket.send`` (e.g. the application
                closed the socket); an AssertionError with Channels' message, as Channels' own
                tests compare it.
            RemoteProtocolError: a ``websocket.send`` without exactly one str/bytes payload.
            TimeoutError: nothing within ``timeout`` (the application is then cancelled).
            Exception: whatever the application raised.
        """
        response = await self.receive_output(timeout)
        if response["type"] != "websocket.send":
            raise UnexpectedMessage(f"Expected type 'websocket.send', but was '{response['type']}'")
        text, data = response.get("text"), response.get("bytes")
        if (text is None) == (data is None):
            raise RemoteProtocolError(
                f"websocket.send needs exactly one of 'text' or 'bytes', got {response!r}"
            )
        if text is not None:
            if not isinstance(text, str):
                raise RemoteProtocolError(f"'text' must be a str, got {type(text).__name__}")
            return text
        if not isinstance(data, bytes):
            raise RemoteProtocolError(f"'bytes' must be bytes, got {type(data).__name__}")
        return data

    async def receive_json_from(self, timeout: float = 1) -> Any:
        """Return the next text frame decoded from JSON.

        Raises:
            UnexpectedMessage: the application closed the socket or sent another message.
            RemoteProtocolError: the frame is binary.
        """
        payload = await self.receive_from(timeout)
        if not isinstance(payload, str):
            raise RemoteProtocolError("expected a JSON text frame, got a binary frame")
        return json.loads(payload)

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        """Send ``websocket.disconnect`` and wait for the application to finish.

        Raises:
            ApplicationCancelled: a timeout (of ``receive_from()``...) already cancelled the
                application: an ``asyncio.CancelledError``, as in Channels.
            Exception: whatever the application raised.
        """
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)  # type: ignore[no-untyped-call]
