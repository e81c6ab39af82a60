"""Django authentication in the scope, as in Django Channels 4.

``AuthMiddleware`` puts the user of the scope's session into ``scope["user"]`` (an
``AnonymousUser`` when nobody is logged in); ``AuthMiddlewareStack(inner)`` adds the cookie and
session middleware it needs. ``login()`` and ``logout()`` change ``scope["session"]``; like in
Channels they do not save it: call ``await database_sync_to_async(scope["session"].save)()``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
    user_logged_in,
    user_logged_out,
)
from django.utils.crypto import constant_time_compare
from django.utils.functional import LazyObject

from gateway.db import database_sync_to_async
from gateway.exceptions import ConfigurationError
from gateway.middleware import BaseMiddleware
from gateway.sessions import CookieMiddleware, SessionMiddleware
from gateway.types import Receive, Scope, Send

__all__ = [
    "AuthMiddleware",
    "AuthMiddlewareStack",
    "UserLazyObject",
    "get_user",
    "login",
    "logout",
]

logger = logging.getLogger(__name__)


def _session_of(scope: Scope) -> Any:
    try:
        return scope["session"]
    except KeyError:
        raise ConfigurationError(
            "no session in scope: wrap your application in SessionMiddleware "
            "(or use AuthMiddlewareStack)"
        ) from None


def _get_user_session_key(session: Any) -> Any:
    # The session stores the primary key as a string; turn it back into the model's type.
    return get_user_model()._meta.pk.to_python(session[SESSION_KEY])


def _session_hash_verified(session: Any, user: Any) -> bool:
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash:
        return False
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return True
    # Django 4.1+: hashes made with SECRET_KEY_FALLBACKS are still valid.
    fallbacks = getattr(user, "get_session_auth_fallback_hash", None)
    return fallbacks is not None and any(
        constant_time_compare(session_hash, fallback) for fallback in fallbacks()
    )


def _get_user_sync(scope: Scope) -> Any:
    from django.contrib.auth.models import AnonymousUser

    session = _session_of(scope)
    user = None
    try:
        user_id = _get_user_session_key(session)
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        pass
    else:
        if backend_path in settings.AUTHENTICATION_BACKENDS:
            user = load_backend(backend_path).get_user(user_id)
            # A changed password invalidates the session, as in Django's get_user().
            if hasattr(user, "get_session_auth_hash") and not _session_hash_verified(session, user):
                session.flush()
                user = None
    return user or AnonymousUser()


async def get_user(scope: Scope) -> Any:
    """Return the user of the scope's session, or an ``AnonymousUser``.

    Args:
        scope: a scope with ``session`` (from SessionMiddleware).

    Raises:
        ConfigurationError: the scope has no session.
    """
    return await _get_user_in_thread(scope)


def _login_sync(scope: Scope, user: Any, backend: str | None) -> None:
    session = _session_of(scope)
    if user is None:
        user = scope.get("user")
    if user is None:
        raise ConfigurationError("pass the user to login() or put it in scope['user'] first")
    session_auth_hash = ""
    if hasattr(user, "get_session_auth_hash"):
        session_auth_hash = user.get_session_auth_hash()
    if SESSION_KEY in session:
        if _get_user_session_key(session) != user.pk or (
            session_auth_hash
            and not constant_time_compare(session.get(HASH_SESSION_KEY, ""), session_auth_hash)
        ):
            # Never reuse another user's session: start an empty one.
            session.flush()
    else:
        # A new key at login defeats session fixation.
        session.cycle_key()
    backend = backend or getattr(user, "backend", None)
    if backend is None:
        backends = list(settings.AUTHENTICATION_BACKENDS)
        if len(backends) != 1:
            raise ConfigurationError(
                f"{len(backends)} authentication backends are configured: pass backend= to "
                "login() or set user.backend"
            )
        backend = backends[0]
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = session_auth_hash
    scope["user"] = user
    user_logged_in.send(sender=user.__class__, request=None, user=user)


async def login(scope: Scope, user: Any = None, backend: str | None = None) -> None:
    """Log ``user`` in: store it in the scope's session and in ``scope["user"]``.

    Data set in the session while anonymous is kept. The session is not saved: save it with
    ``await database_sync_to_async(scope["session"].save)()`` (HTTP responses save it for you).

    Args:
        scope: a scope with ``session``.
        user: the user; defaults to ``scope["user"]``.
        backend: dotted path of the authentication backend; defaults to ``user.backend``
            or the only configured backend.

    Raises:
        ConfigurationError: no session, no user, or an ambiguous backend.
    """
    await _login_in_thread(scope, user, backend)


def _logout_sync(scope: Scope) -> None:
    from django.contrib.auth.models import AnonymousUser

    session = _session_of(scope)
    user = scope.get("user")
    if user is not None and not getattr(user, "is_authenticated", True):
        user = None
    if user is not None:
        # Signal before flushing, so receivers can still see who is leaving.
        user_logged_out.send(sender=user.__class__, request=None, user=user)
    session.flush()
    if isinstance(scope.get("user"), LazyObject):
        scope["user"]._wrapped = AnonymousUser()
    elif "user" in scope:
        scope["user"] = AnonymousUser()


async def logout(scope: Scope) -> None:
    """Log the scope's user out: flush the session and make ``scope["user"]`` anonymous.

    Raises:
        ConfigurationError: the scope has no session.
    """
    await _logout_in_thread(scope)


# Wrapped once, at import, as Channels' decorators do: no wrapper is built per call.
_get_user_in_thread = database_sync_to_async(_get_user_sync)
_login_in_thread = database_sync_to_async(_login_sync)
_logout_in_thread = database_sync_to_async(_logout_sync)


# django-stubs 6 (the lock's) makes LazyObject generic, 5 did not, and Django's own class is not
# subscriptable: the ignore holds for both stubs, so mypy passes before and after an upgrade.
class UserLazyObject(LazyObject):  # type: ignore[type-arg,unused-ignore]
    """``scope["user"]`` before AuthMiddleware resolved it; using it then is an error."""

    def _setup(self) -> None:
        raise ConfigurationError(
            "scope['user'] was used before AuthMiddleware resolved it; "
            "read it from inside the application AuthMiddleware wraps"
        )


class AuthMiddleware(BaseMiddleware):
    """Put the session's user into ``scope["user"]``. Must run inside SessionMiddleware."""

    def populate_scope(self, scope: Scope) -> None:
        """Add an unresolved ``scope["user"]`` unless one is there already.

        Raises:
            ConfigurationError: the scope has no session.
        """
        if "session" not in scope:
            raise ConfigurationError(
                "AuthMiddleware found no session in scope: put SessionMiddleware above it "
                "(or use AuthMiddlewareStack)"
            )
        if "user" not in scope:
            scope["user"] = UserLazyObject()

    async def resolve_scope(self, scope: Scope) -> None:
        """Load the user from the session into ``scope["user"]`` (unless it is set already)."""
        user = scope["user"]
        if isinstance(user, LazyObject):
            user._wrapped = await get_user(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Resolve the user, then run the inner application."""
        scope = dict(scope)
        self.populate_scope(scope)
        await self.resolve_scope(scope)
        return await super().__call__(scope, receive, send)


def AuthMiddlewareStack(inner: Any) -> CookieMiddleware:
    """Wrap ``inner`` in CookieMiddleware, SessionMiddleware and AuthMiddleware."""
    return CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))
