"""HttpCommunicator: send one HTTP request to an application, in-process."""

from __future__ import annotations

from typing import Any

from gateway.exceptions import ConfigurationError, RemoteProtocolError
from gateway.testing.application import ApplicationCommunicator
from gateway.testing.scope import connection_scope
from gateway.utils import Headers


class HttpCommunicator(ApplicationCommunicator):
    """One HTTP request to ``application``; ``get_response()`` returns the whole response.

    Example::

        communicator = HttpCommunicator(application, "GET", "/health/?full=1")
        response = await communicator.get_response()
        assert response["status"] == 200
    """

    def __init__(
        self,
        application: Any,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Headers | None = None,
    ) -> None:
        """Build the scope; nothing runs until get_response().

        Args:
            application: an ASGI application or a consumer class.
            method: the HTTP method, any case.
            path: the request path, with an optional query string.
            body: the request body.
            headers: request headers (pairs or a mapping, bytes or str).

        Raises:
            ConfigurationError: ``body`` is not bytes.
        """
        if not isinstance(body, bytes):
            raise ConfigurationError(f"body must be bytes, got {type(body).__name__}")
        scope = connection_scope("http", path, "http", headers)
        scope["method"] = method.upper()
        super().__init__(application, scope)
        self.body = body
        self.sent_request = False

    async def get_response(self, timeout: float = 1) -> dict[str, Any]:
        """Send the request (once) and collect the response.

        Returns:
            The ``http.response.start`` message without its ``type``, with ``headers``
            (default ``[]``) and ``body``: all body chunks joined.

        Raises:
            RemoteProtocolError: the application sent messages out of the HTTP order.
            TimeoutError: a message did not come within ``timeout``.
            Exception: whatever the application raised.
        """
        if not self.sent_request:
            self.sent_request = True
            await self.send_input({"type": "http.request", "body": self.body})
        start = await self.receive_output(timeout)
        if start["type"] != "http.response.start":
            raise RemoteProtocolError(f"expected http.response.start, got {start['type']!r}")
        chunks: list[bytes] = []
        while True:
            chunk = await self.receive_output(timeout)
            if chunk["type"] != "http.response.body":
                raise RemoteProtocolError(f"expected http.response.body, got {chunk['type']!r}")
            body = chunk.get("body", b"")
            if not isinstance(body, bytes):
                raise RemoteProtocolError(f"body must be bytes, got {type(body).__name__}")
            chunks.append(body)
            if not chunk.get("more_body", False):
                break
        response = {key: value for key, value in start.items() if key != "type"}
        response.setdefault("headers", [])
        response["body"] = b"".join(chunks)
        return response
