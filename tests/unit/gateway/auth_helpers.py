"""HTTP round trips through the session and auth middleware, with cookies carried over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings

from gateway.testing import HttpCommunicator

Handler = Callable[[dict[str, Any]], Awaitable[None]]


def http_app(handler: Handler, status: int = 200) -> Any:
    """An ASGI HTTP app that awaits ``handler(scope)`` and then answers ``status``."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await handler(scope)
        await send({"type": "http.response.start", "status": status})
        await send({"type": "http.response.body", "body": b""})

    return app


async def request(app: Any, cookie: str | None = None) -> dict[str, Any]:
    """GET / with an optional ``Cookie`` header; returns the response."""
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return await HttpCommunicator(app, "GET", "/", headers=headers).get_response()


def set_cookies(response: dict[str, Any]) -> SimpleCookie:
    """The cookies of the response's Set-Cookie headers."""
    cookies: SimpleCookie = SimpleCookie()
    for name, value in response["headers"]:
        if name.lower() == b"set-cookie":
            cookies.load(value.decode())
    return cookies


def session_cookie(response: dict[str, Any]) -> str:
    """A Cookie header value carrying the session cookie the response set."""
    morsel = set_cookies(response)[settings.SESSION_COOKIE_NAME]
    return f"{settings.SESSION_COOKIE_NAME}={morsel.value}"
