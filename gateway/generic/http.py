"""HTTP consumer: gather the request body, call ``handle(body)``, send the response.

For long-polling and streaming responses next to Django's views. The instance ends after the
response (``handle`` returned) or when the client disconnects.
"""

from __future__ import annotations

from typing import Any

from gateway.consumer import AsyncConsumer
from gateway.exceptions import LocalProtocolError, StopConsumer
from gateway.types import Message
from gateway.utils import Headers, header_list


class AsyncHttpConsumer(AsyncConsumer):
    """Async HTTP consumer. Override :meth:`handle`; respond with the ``send_*`` methods.

    Example::

        class TimeConsumer(AsyncHttpConsumer):
            async def handle(self, body):
                await self.send_response(200, b"ok", headers=[(b"Content-Type", b"text/plain")])

    For a streamed response call ``send_headers`` once, then ``send_body(chunk,
    more_body=True)`` as often as needed, and a last ``send_body(chunk)``.
    """

    def __init__(self, **initkwargs: Any) -> None:
        super().__init__(**initkwargs)
        self.body: list[bytes] = []

    async def send_headers(self, *, status: int = 200, headers: Headers | None = None) -> None:
        """Start the response with a status and headers (pairs or a mapping, bytes or str).

        The server sends nothing to the client until the first ``send_body``.
        """
        await self.send(
            {"type": "http.response.start", "status": status, "headers": header_list(headers)}
        )

    async def send_body(self, body: bytes, *, more_body: bool = False) -> None:
        """Send (part of) the response body; ``more_body=True`` if more parts follow.

        Raises:
            LocalProtocolError: ``body`` is not bytes.
        """
        if not isinstance(body, bytes | bytearray):
            raise LocalProtocolError(
                f"send_body() needs bytes, got {type(body).__name__}: encode text first, "
                'e.g. body.encode("utf-8")'
            )
        await self.send({"type": "http.response.body", "body": bytes(body), "more_body": more_body})

    async def send_response(self, status: int, body: bytes, **kwargs: Any) -> None:
        """Send a whole response: ``send_headers(status=status, **kwargs)`` then ``send_body``.

        Call it once per request.
        """
        await self.send_headers(status=status, **kwargs)
        await self.send_body(body)

    async def handle(self, body: bytes) -> None:
        """Handle the request, given its whole body; respond with the ``send_*`` methods.

        Raises:
            NotImplementedError: subclasses must override it.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define `async def handle(self, body)` to respond"
        )

    async def disconnect(self) -> None:
        """Called once when the request is over (handled or client gone). Do not send here."""

    async def http_request(self, message: Message) -> None:
        """Collect body chunks; when the last one arrives, call ``handle`` and stop."""
        if "body" in message:
            self.body.append(message["body"])
        if not message.get("more_body"):
            try:
                await self.handle(b"".join(self.body))
            finally:
                await self.disconnect()
            raise StopConsumer

    async def http_disconnect(self, message: Message) -> None:
        """The client went away: call ``disconnect`` and stop."""
        await self.disconnect()
        raise StopConsumer
