"""Cookies and Django sessions in the scope, as in Django Channels 4.

``CookieMiddleware`` parses the ``Cookie`` header into ``scope["cookies"]``;
``SessionMiddleware`` puts the Django session named by the session cookie into
``scope["session"]``. ``SessionMiddlewareStack(inner)`` applies both.

The session is saved, and its cookie set, only on an HTTP response (``http.response.start``),
when it was modified. Other protocols cannot carry a cookie back: save it yourself with
``await database_sync_to_async(scope["session"].save)()``.
"""

from __future__ import annotations

import datetime
import logging
import time
from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.http.cookie import parse_cookie
from django.utils.encoding import force_str
from django.utils.functional import LazyObject
from django.utils.http import http_date

from gateway.applications import as_application
from gateway.db import database_sync_to_async
from gateway.exceptions import ConfigurationError, InvalidCookieSetting, SessionDeleted
from gateway.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

_SAMESITE_VALUES = {"strict", "lax", "none"}


class CookieMiddleware:
    """Parse the request's ``Cookie`` header into ``scope["cookies"]`` (a ``dict[str, str]``).

    Needs a scope with ``headers`` (HTTP and WebSocket): wrap only those scope types.
    """

    def __init__(self, inner: Any) -> None:
        """Wrap ``inner``, an ASGI application or a consumer class."""
        self.inner: ASGIApp = as_application(inner)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the inner application with ``cookies`` added to a copy of the scope.

        Raises:
            ConfigurationError: the scope has no ``headers``.
        """
        if "headers" not in scope:
            raise ConfigurationError(
                f"CookieMiddleware got a {scope.get('type')!r} scope without headers; "
                "wrap only HTTP and WebSocket applications with it"
            )
        cookies: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name.lower() == b"cookie":
                # HTTP headers are Latin-1; Django's parser is lenient about bad pairs.
                cookies = parse_cookie(value.decode("latin-1"))
                break
        return await self.inner(dict(scope, cookies=cookies), receive, send)

    @classmethod
    def set_cookie(
        cls,
        message: dict[str, Any],
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: str | datetime.datetime | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool | None = False,
        httponly: bool | None = False,
        samesite: str | None = "lax",
    ) -> None:
        """Add a ``Set-Cookie`` header to an ``http.response.start`` message.

        Args:
            message: the response message; its ``headers`` list is created if missing.
            key: cookie name.
            value: cookie value.
            max_age: lifetime in seconds; also sets ``expires`` when that is not given.
            expires: an HTTP date string, or a ``datetime`` (naive means UTC) from which
                ``max_age`` is computed.
            path: cookie path.
            domain: cookie domain, or None for the request host only.
            secure: send only over HTTPS.
            httponly: hide from JavaScript.
            samesite: ``"strict"``, ``"lax"``, ``"none"`` or None to leave it out.

        Raises:
            InvalidCookieSetting: ``samesite`` is not one of the allowed values (a
                ConfigurationError, and an AssertionError as Channels asserts).
        """
        cookies: SimpleCookie = SimpleCookie()
        cookies[key] = force_str(value)
        morsel = cookies[key]
        if isinstance(expires, datetime.datetime):
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=datetime.UTC)
            delta = expires - datetime.datetime.now(datetime.UTC)
            # One second more, so the date matches after the fractions lost in the timedelta.
            delta += datetime.timedelta(seconds=1)
            max_age = max(0, delta.days * 86400 + delta.seconds)
            expires = None
        morsel["expires"] = expires or ""
        if max_age is not None:
            morsel["max-age"] = max_age
            if not expires:
                # Old browsers ignore max-age: give them an expiry date too.
                morsel["expires"] = http_date(time.time() + max_age)
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite.lower() not in _SAMESITE_VALUES:
                raise InvalidCookieSetting(
                    f"samesite must be 'strict', 'lax' or 'none', got {samesite!r}: "
                    "check SESSION_COOKIE_SAMESITE"
                )
            morsel["samesite"] = samesite
        message.setdefault("headers", []).append(
            (b"Set-Cookie", morsel.output(header="").strip().encode("utf-8"))
        )

    @classmethod
    def delete_cookie(
        cls, message: dict[str, Any], key: str, path: str = "/", domain: str | None = None
    ) -> None:
        """Add a ``Set-Cookie`` header that makes the browser drop cookie ``key``."""
        cls.set_cookie(
            message,
            key,
            max_age=0,
            path=path,
            domain=domain,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
        )


class InstanceSessionWrapper:
    """Per-scope helper of SessionMiddleware: holds the session and saves it on response."""

    #: Message types on which a modified session is saved.
    save_message_types = ("http.response.start",)
    #: Message types that can carry the session cookie back to the client.
    cookie_response_message_types = ("http.response.start",)

    def __init__(self, scope: Scope, send: Send) -> None:
        """Prepare ``self.scope`` (a copy) with a lazy session; call resolve_session() next.

        Raises:
            ConfigurationError: the scope has no ``cookies`` (CookieMiddleware is missing).
        """
        self.cookie_name: str = settings.SESSION_COOKIE_NAME
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore
        self.scope: dict[str, Any] = dict(scope)
        self.real_send = send
        if "session" in self.scope:
            # A session middleware above us already did the work and will save.
            self.activated = False
        else:
            if "cookies" not in self.scope:
                raise ConfigurationError(
                    "no cookies in scope: put SessionMiddleware inside CookieMiddleware "
                    "(or use SessionMiddlewareStack)"
                )
            self.scope["session"] = LazyObject()
            self.activated = True

    async def resolve_session(self) -> None:
        """Attach the session store object for the cookie's key (an unknown key gives a new one)."""
        if not self.activated:
            return
        session_key = self.scope["cookies"].get(self.cookie_name)
        # Django's session stores read nothing in their constructor (data loads on first
        # access), so no worker thread is needed here; Channels 4.3 does the same.
        self.scope["session"]._wrapped = self.session_store(session_key)

    async def send(self, message: dict[str, Any]) -> None:
        """Pass a message on, first saving the session and setting its cookie on responses."""
        if self.activated and message["type"] in self.save_message_types:
            await self._save_for_response(message)
        await self.real_send(message)

    async def _save_for_response(self, message: dict[str, Any]) -> None:
        session = self.scope["session"]
        modified = session.modified
        empty = session.is_empty()
        if message.get("status", 200) == 500:
            # Django does not save the session of a failed response either.
            return
        if not (modified or settings.SESSION_SAVE_EVERY_REQUEST):
            return
        await database_sync_to_async(self.save_session)()
        if message["type"] not in self.cookie_response_message_types:
            return
        if empty:
            if self.cookie_name in self.scope["cookies"]:
                CookieMiddleware.delete_cookie(
                    message,
                    self.cookie_name,
                    path=settings.SESSION_COOKIE_PATH,
                    domain=settings.SESSION_COOKIE_DOMAIN,
                )
            return
        if session.get_expire_at_browser_close():
            max_age: int | None = None
            expires: str | None = None
        else:
            max_age = session.get_expiry_age()
            expires = http_date(time.time() + max_age)
        CookieMiddleware.set_cookie(
            message,
            self.cookie_name,
            session.session_key,
            max_age=max_age,
            expires=expires,
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE or None,
            httponly=settings.SESSION_COOKIE_HTTPONLY or None,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )

    def save_session(self) -> None:
        """Save the session (sync: runs in a thread through database_sync_to_async).

        Raises:
            SessionDeleted: the session was deleted meanwhile (e.g. a concurrent logout); a
                ``SessionInterrupted`` as Django's SessionMiddleware raises, and a
                ``SuspiciousOperation`` as Channels raises.
        """
        try:
            self.scope["session"].save()
        except UpdateError:
            raise SessionDeleted(
                "the session was deleted before the request completed; "
                "the user may have logged out in a concurrent request"
            ) from None


class SessionMiddleware:
    """Put the Django session named by the session cookie into ``scope["session"]``.

    Must run inside CookieMiddleware. A missing or unknown session cookie gives a new, empty
    session; it is saved (and its cookie set) on an HTTP response if it was modified.
    """

    def __init__(self, inner: Any) -> None:
        """Wrap ``inner``, an ASGI application or a consumer class."""
        self.inner: ASGIApp = as_application(inner)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Resolve the session, then run the inner application with it in the scope."""
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, wrapper.send)


def SessionMiddlewareStack(inner: Any) -> CookieMiddleware:
    """Wrap ``inner`` in CookieMiddleware and SessionMiddleware."""
    return CookieMiddleware(SessionMiddleware(inner))
