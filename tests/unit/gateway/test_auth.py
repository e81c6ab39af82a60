"""AuthMiddleware, get_user, login and logout with real users and database sessions."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import user_logged_in, user_logged_out
from django.contrib.auth.models import AnonymousUser, User
from django.test import override_settings

from gateway.auth import AuthMiddleware, AuthMiddlewareStack, get_user, login, logout
from gateway.db import database_sync_to_async
from gateway.exceptions import ConfigurationError
from gateway.testing import ApplicationCommunicator, WebsocketCommunicator
from tests.unit.gateway.asgi_apps import scope_echo
from tests.unit.gateway.auth_helpers import http_app, request, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
async def alice() -> User:
    return await database_sync_to_async(User.objects.create_user)("alice", password="wonder-1")


async def logged_in_cookie(user: User) -> str:
    """Log ``user`` in over HTTP and return the session cookie the response sets."""

    async def do_login(scope: dict[str, Any]) -> None:
        await login(scope, user, backend=MODEL_BACKEND)
        assert scope["user"] == user

    return session_cookie(await request(AuthMiddlewareStack(http_app(do_login)), None))


async def user_seen_with(cookie: str | None) -> Any:
    seen = []

    async def record(scope: dict[str, Any]) -> None:
        seen.append(scope["user"]._wrapped)

    await request(AuthMiddlewareStack(http_app(record)), cookie)
    return seen[0]


async def test_anonymous_without_session_cookie() -> None:
    assert isinstance(await user_seen_with(None), AnonymousUser)


async def test_login_then_next_request_sees_the_user(alice: User) -> None:
    cookie = await logged_in_cookie(alice)
    assert await user_seen_with(cookie) == alice


async def test_websocket_scope_gets_the_user_from_the_cookie(alice: User) -> None:
    cookie = await logged_in_cookie(alice)

    async def greet(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": f"hello {scope['user'].username}"})
        await receive()

    communicator = WebsocketCommunicator(
        AuthMiddlewareStack(greet), "/ws/", headers=[(b"cookie", cookie.encode())]
    )
    assert (await communicator.connect())[0]
    assert await communicator.receive_from() == "hello alice"
    await communicator.disconnect()


async def test_logout_flushes_session_and_makes_user_anonymous(alice: User) -> None:
    cookie = await logged_in_cookie(alice)
    users = []

    async def do_logout(scope: dict[str, Any]) -> None:
        await logout(scope)
        users.append(scope["user"]._wrapped)

    await request(AuthMiddlewareStack(http_app(do_logout)), cookie)
    assert isinstance(users[0], AnonymousUser)
    assert isinstance(await user_seen_with(cookie), AnonymousUser)


async def test_login_and_logout_send_django_signals(alice: User) -> None:
    events = []

    def on_login(sender: Any, user: Any, request: Any, **kwargs: Any) -> None:
        events.append(("in", user.username, request))

    def on_logout(sender: Any, user: Any, request: Any, **kwargs: Any) -> None:
        events.append(("out", user.username, request))

    user_logged_in.connect(on_login, dispatch_uid="test-gateway-login")
    user_logged_out.connect(on_logout, dispatch_uid="test-gateway-logout")
    try:
        cookie = await logged_in_cookie(alice)

        async def do_logout(scope: dict[str, Any]) -> None:
            await logout(scope)

        await request(AuthMiddlewareStack(http_app(do_logout)), cookie)
    finally:
        user_logged_in.disconnect(dispatch_uid="test-gateway-login")
        user_logged_out.disconnect(dispatch_uid="test-gateway-logout")
    # Django's own last_login receiver also ran: the user row was updated.
    refreshed = await database_sync_to_async(User.objects.get)(pk=alice.pk)
    assert refreshed.last_login is not None
    assert events == [("in", "alice", None), ("out", "alice", None)]


async def test_password_change_invalidates_the_session(alice: User) -> None:
    cookie = await logged_in_cookie(alice)

    def change_password() -> None:
        alice.set_password("another-2")
        alice.save()

    await database_sync_to_async(change_password)()
    assert isinstance(await user_seen_with(cookie), AnonymousUser)


async def test_login_over_another_users_session_starts_a_new_one(alice: User) -> None:
    bob = await database_sync_to_async(User.objects.create_user)("bob", password="builder-3")
    alice_cookie = await logged_in_cookie(alice)
    keys = []

    async def switch(scope: dict[str, Any]) -> None:
        keys.append(scope["session"].session_key)
        await login(scope, bob, backend=MODEL_BACKEND)
        keys.append(scope["session"].session_key)

    response = await request(AuthMiddlewareStack(http_app(switch)), alice_cookie)
    assert keys[0] != keys[1]
    assert await user_seen_with(session_cookie(response)) == bob
    # flush() deleted alice's session: her old cookie no longer logs anybody in.
    assert isinstance(await user_seen_with(alice_cookie), AnonymousUser)


async def test_anonymous_data_survives_login(alice: User) -> None:
    async def visit_then_login(scope: dict[str, Any]) -> None:
        await scope["session"].aset("cart", [1, 2])
        await login(scope, alice, backend=MODEL_BACKEND)

    cookie = session_cookie(await request(AuthMiddlewareStack(http_app(visit_then_login))))
    carts = []

    async def read(scope: dict[str, Any]) -> None:
        carts.append(await scope["session"].aget("cart"))

    await request(AuthMiddlewareStack(http_app(read)), cookie)
    assert carts == [[1, 2]]


async def test_login_uses_the_only_backend_or_user_backend(alice: User) -> None:
    scope: dict[str, Any] = {"session": await database_sync_to_async(_new_session)()}
    await login(scope, alice)
    assert scope["session"]["_auth_user_backend"] == MODEL_BACKEND
    assert scope["user"] == alice


@override_settings(
    AUTHENTICATION_BACKENDS=[MODEL_BACKEND, "tests.unit.gateway.test_auth.NoBackend"]
)
async def test_login_with_several_backends_needs_one_named(alice: User) -> None:
    scope: dict[str, Any] = {"session": await database_sync_to_async(_new_session)()}
    with pytest.raises(ConfigurationError, match="2 authentication backends are configured"):
        await login(scope, alice)
    alice.backend = MODEL_BACKEND
    await login(scope, alice)
    assert scope["session"]["_auth_user_backend"] == MODEL_BACKEND


async def test_login_without_user_is_refused() -> None:
    scope: dict[str, Any] = {"session": await database_sync_to_async(_new_session)()}
    with pytest.raises(ConfigurationError, match="pass the user"):
        await login(scope, None)


@pytest.mark.parametrize("call", [get_user, logout, lambda scope: login(scope, AnonymousUser())])
async def test_functions_need_a_session(call: Any) -> None:
    with pytest.raises(ConfigurationError, match="no session in scope"):
        await call({"type": "websocket"})


async def test_auth_middleware_needs_session_middleware() -> None:
    communicator = ApplicationCommunicator(
        AuthMiddleware(scope_echo), {"type": "websocket", "path": "/", "headers": []}
    )
    with pytest.raises(ConfigurationError, match="put SessionMiddleware above it"):
        await communicator.receive_output()


async def test_user_used_before_resolution_says_so() -> None:
    scope: dict[str, Any] = {"session": {}}
    AuthMiddleware(scope_echo).populate_scope(scope)
    with pytest.raises(ConfigurationError, match="before AuthMiddleware resolved it"):
        _ = scope["user"].username


async def test_user_already_in_scope_is_kept(alice: User) -> None:
    scope: dict[str, Any] = {"session": await database_sync_to_async(_new_session)(), "user": alice}
    middleware = AuthMiddleware(scope_echo)
    middleware.populate_scope(scope)
    await middleware.resolve_scope(scope)
    assert scope["user"] is alice


def _new_session() -> Any:
    from django.contrib.sessions.backends.db import SessionStore

    return SessionStore()


class NoBackend:
    """An authentication backend that knows nobody."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None
