"""WebSocket consumers: connect/receive/send/close/disconnect instead of raw ASGI events.

Four classes, as in Channels: :class:`WebsocketConsumer` (sync handlers, in a worker thread),
:class:`AsyncWebsocketConsumer`, and their JSON variants :class:`JsonWebsocketConsumer` and
:class:`AsyncJsonWebsocketConsumer`.

One deliberate difference from Channels: a JSON consumer that receives text that is not valid
JSON does not crash. It calls ``receive_invalid_json(text_data, error)``, whose default replies
``{"error": "invalid JSON: ..."}`` and keeps the connection open.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync

from gateway.consumer import AsyncConsumer, SyncConsumer
from gateway.exceptions import (
    AcceptConnection,
    DenyConnection,
    InvalidChannelLayerError,
    LocalProtocolError,
    StopConsumer,
    UnexpectedFrame,
)
from gateway.types import Message
from gateway.utils import Headers, header_list

logger = logging.getLogger(__name__)

#: Close code ASGI reports when the client's close frame carried none (RFC 6455 7.1.5).
NO_STATUS_RECEIVED = 1005


def accept_message(subprotocol: str | None = None, headers: Headers | None = None) -> Message:
    """Build a ``websocket.accept`` event.

    Args:
        subprotocol: the subprotocol chosen from ``scope["subprotocols"]``, or ``None``.
        headers: extra response headers, as pairs or a mapping (str is encoded as Latin-1).
    """
    message: Message = {"type": "websocket.accept", "subprotocol": subprotocol}
    if headers:
        if isinstance(headers, list) and all(
            len(pair) == 2 and type(pair[0]) is bytes and type(pair[1]) is bytes for pair in headers
        ):
            # Already ASGI pairs: passed on as written (lists stay lists), as Channels does,
            # so a test comparing communicator.response_headers with what it gave still passes.
            message["headers"] = list(headers)
        else:
            message["headers"] = header_list(headers)
    return message


def send_message(text_data: str | None = None, bytes_data: bytes | None = None) -> Message:
    """Build a ``websocket.send`` event; text wins if both are given, as in Channels.

    Raises:
        LocalProtocolError: neither ``text_data`` nor ``bytes_data`` was given.
    """
    if text_data is not None:
        return {"type": "websocket.send", "text": text_data}
    if bytes_data is not None:
        return {"type": "websocket.send", "bytes": bytes_data}
    raise LocalProtocolError("send() needs text_data or bytes_data: pass one of them")


def close_message(code: int | bool | None = None, reason: str | None = None) -> Message:
    """Build a ``websocket.close`` event (``code=True``, from ``send(close=True)``: no code)."""
    message: Message = {"type": "websocket.close"}
    if code is not None and code is not True:
        message["code"] = code
    if reason:
        message["reason"] = reason
    return message


def _group_layer(consumer: AsyncConsumer) -> Any:
    """Return the channel layer to join ``consumer.groups`` with, or raise if there is none."""
    layer = consumer.channel_layer
    if layer is None or not hasattr(layer, "group_add"):
        raise InvalidChannelLayerError(
            f"{type(consumer).__name__}.groups is set but the channel layer "
            f"{consumer.channel_layer_alias!r} is not configured or has no groups: "
            "set CHANNEL_LAYERS (e.g. gateway.layers.InMemoryChannelLayer) or leave groups empty"
        )
    return layer


def _text_frame_or_fail(text_data: str | None) -> str:
    if text_data is None:
        raise UnexpectedFrame(
            "a JSON websocket consumer received a binary frame: send JSON as text frames"
        )
    return text_data


def _invalid_json_reply(text_data: str, error: ValueError) -> dict[str, str]:
    logger.info("invalid JSON received (%d chars): %s", len(text_data), error)
    return {"error": f"invalid JSON: {error}"}


class _GroupsMixin:
    """Gives each instance its own ``groups`` list (class default ``None`` → ``[]``)."""

    groups: list[str] | None = None

    def __init__(self, **initkwargs: Any) -> None:
        super().__init__(**initkwargs)
        self.groups = list(self.groups or [])


class WebsocketConsumer(_GroupsMixin, SyncConsumer):
    """WebSocket consumer with synchronous handlers (run in a worker thread; the ORM is fine).

    Override ``connect``, ``receive`` and ``disconnect``; call ``accept``, ``send`` and ``close``.
    Set ``groups`` to channel-layer groups the connection joins on connect and leaves on
    disconnect; group messages are dispatched to methods like any event.
    """

    groups: list[str]

    def websocket_connect(self, message: Message) -> None:
        """Join ``groups``, then call ``connect()``; honours Accept/DenyConnection from it."""
        if self.groups:
            layer = _group_layer(self)
            for group in self.groups:
                async_to_sync(layer.group_add)(group, self.channel_name)
        try:
            self.connect()
        except AcceptConnection:
            self.accept()
        except DenyConnection:
            self.close()

    def connect(self) -> None:
        """Called when the client asks to connect. Default: accept. Close here to reject."""
        self.accept()

    def accept(self, subprotocol: str | None = None, headers: Headers | None = None) -> None:
        """Accept the connection, optionally choosing a subprotocol and adding headers."""
        super().send(accept_message(subprotocol, headers))

    def websocket_receive(self, message: Message) -> None:
        """Pass a received frame to ``receive()`` as ``text_data`` or ``bytes_data``."""
        text = message.get("text")
        if text is not None:
            self.receive(text_data=text)
        else:
            self.receive(bytes_data=message.get("bytes"))

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame from the client. Default: ignore it."""

    def send(  # type: ignore[override]
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        close: bool | int = False,
    ) -> None:
        """Send a text or binary frame; ``close=True`` (or a close code) closes afterwards."""
        super().send(send_message(text_data, bytes_data))
        if close:
            self.close(close)

    def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close the connection (before ``accept``, this rejects it with HTTP 403)."""
        super().send(close_message(code, reason))

    def websocket_disconnect(self, message: Message) -> None:
        """Leave ``groups``, call ``disconnect(code)``, then stop the consumer."""
        if self.groups and self.channel_layer is not None:
            for group in self.groups:
                async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
        self.disconnect(message.get("code", NO_STATUS_RECEIVED))
        raise StopConsumer

    def disconnect(self, code: int) -> None:
        """Called when the connection has closed, with the close code. Do not send from here."""


class JsonWebsocketConsumer(WebsocketConsumer):
    """WebSocket consumer that decodes each text frame as JSON and encodes what it sends.

    Override ``receive_json(content)``; call ``send_json(content)``. Invalid JSON calls
    ``receive_invalid_json`` instead of crashing (a difference from Channels).
    """

    def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Decode the frame and call ``receive_json``, or ``receive_invalid_json`` if it fails.

        Raises:
            UnexpectedFrame: the client sent a binary frame (a RemoteProtocolError and a
                ValueError).
        """
        text = _text_frame_or_fail(text_data)
        try:
            content = self.decode_json(text)
        except ValueError as error:
            self.receive_invalid_json(text, error)
            return
        self.receive_json(content, **kwargs)

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Called with each decoded JSON message. Default: ignore it."""

    def receive_invalid_json(self, text_data: str, error: ValueError) -> None:
        """Called when a text frame is not valid JSON. Default: reply with an error object.

        The connection stays open. Override to close it instead (``self.close(4000)``).
        """
        self.send_json(_invalid_json_reply(text_data, error))

    def send_json(self, content: Any, close: bool | int = False) -> None:
        """Encode ``content`` as JSON and send it as a text frame."""
        super().send(text_data=self.encode_json(content), close=close)

    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        """Decode a text frame (override for custom decoders; raise ValueError on bad input)."""
        return json.loads(text_data)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        """Encode content for sending (override for custom encoders)."""
        return json.dumps(content)


class AsyncWebsocketConsumer(_GroupsMixin, AsyncConsumer):
    """WebSocket consumer with ``async`` handlers, run on the event loop.

    Same API as :class:`WebsocketConsumer`, with every method a coroutine.
    """

    groups: list[str]

    async def websocket_connect(self, message: Message) -> None:
        """Join ``groups``, then call ``connect()``; honours Accept/DenyConnection from it."""
        if self.groups:
            layer = _group_layer(self)
            for group in self.groups:
                await layer.group_add(group, self.channel_name)
        try:
            await self.connect()
        except AcceptConnection:
            await self.accept()
        except DenyConnection:
            await self.close()

    async def connect(self) -> None:
        """Called when the client asks to connect. Default: accept. Close here to reject."""
        await self.accept()

    async def accept(self, subprotocol: str | None = None, headers: Headers | None = None) -> None:
        """Accept the connection, optionally choosing a subprotocol and adding headers."""
        await super().send(accept_message(subprotocol, headers))

    async def websocket_receive(self, message: Message) -> None:
        """Pass a received frame to ``receive()`` as ``text_data`` or ``bytes_data``."""
        text = message.get("text")
        if text is not None:
            await self.receive(text_data=text)
        else:
            await self.receive(bytes_data=message.get("bytes"))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called with each frame from the client. Default: ignore it."""

    async def send(  # type: ignore[override]
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        close: bool | int = False,
    ) -> None:
        """Send a text or binary frame; ``close=True`` (or a close code) closes afterwards."""
        await super().send(send_message(text_data, bytes_data))
        if close:
            await self.close(close)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close the connection (before ``accept``, this rejects it with HTTP 403)."""
        await super().send(close_message(code, reason))

    async def websocket_disconnect(self, message: Message) -> None:
        """Leave ``groups``, call ``disconnect(code)``, then stop the consumer."""
        if self.groups and self.channel_layer is not None:
            for group in self.groups:
                await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message.get("code", NO_STATUS_RECEIVED))
        raise StopConsumer

    async def disconnect(self, code: int) -> None:
        """Called when the connection has closed, with the close code. Do not send from here."""


class AsyncJsonWebsocketConsumer(AsyncWebsocketConsumer):
    """Async WebSocket consumer that decodes each text frame as JSON and encodes what it sends.

    Override ``receive_json(content)``; call ``send_json(content)``. Invalid JSON calls
    ``receive_invalid_json`` instead of crashing (a difference from Channels).
    """

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Async :meth:`JsonWebsocketConsumer.receive`: JSON in, ``receive_json`` called."""
        text = _text_frame_or_fail(text_data)
        try:
            content = await self.decode_json(text)
        except ValueError as error:
            await self.receive_invalid_json(text, error)
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Called with each decoded JSON message. Default: ignore it."""

    async def receive_invalid_json(self, text_data: str, error: ValueError) -> None:
        """Called when a text frame is not valid JSON. Default: reply with an error object.

        The connection stays open. Override to close it instead (``await self.close(4000)``).
        """
        await self.send_json(_invalid_json_reply(text_data, error))

    async def send_json(self, content: Any, close: bool | int = False) -> None:
        """Encode ``content`` as JSON and send it as a text frame."""
        await super().send(text_data=await self.encode_json(content), close=close)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        """Decode a text frame (override for custom decoders; raise ValueError on bad input)."""
        return json.loads(text_data)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        """Encode content for sending (override for custom encoders)."""
        return json.dumps(content)
