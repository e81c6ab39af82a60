"""CookieMiddleware and SessionMiddleware with the real database session engine."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import SuspiciousOperation

from gateway.db import database_sync_to_async
from gateway.exceptions import ConfigurationError
from gateway.sessions import CookieMiddleware, SessionMiddleware, SessionMiddlewareStack
from gateway.testing import ApplicationCommunicator
from tests.unit.gateway.asgi_apps import scope_echo
from tests.unit.gateway.auth_helpers import http_app, request, session_cookie, set_cookies

pytestmark = pytest.mark.django_db(transaction=True)
COOKIE = settings.SESSION_COOKIE_NAME


async def echoed_scope(app: Any, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    communicator = ApplicationCommunicator(
        app, {"type": "websocket", "path": "/", "headers": headers}
    )
    await communicator.send_input({"type": "websocket.connect"})
    return (await communicator.receive_output())["scope"]


# CookieMiddleware


async def test_cookies_are_parsed_into_scope() -> None:
    scope = await echoed_scope(
        CookieMiddleware(scope_echo), [(b"host", b"x"), (b"Cookie", b"a=1; b=two words; c")]
    )
    assert scope["cookies"] == {"a": "1", "b": "two words", "": "c"}


async def test_no_cookie_header_gives_empty_cookies() -> None:
    assert (await echoed_scope(CookieMiddleware(scope_echo), []))["cookies"] == {}


async def test_scope_without_headers_is_refused() -> None:
    communicator = ApplicationCommunicator(CookieMiddleware(scope_echo), {"type": "mqtt"})
    with pytest.raises(ConfigurationError, match="without headers"):
        await communicator.receive_output()


def test_set_cookie_with_max_age_and_flags() -> None:
    message: dict[str, Any] = {"type": "http.response.start"}
    CookieMiddleware.set_cookie(
        message, "k", "v", max_age=60, domain="example.com", secure=True, httponly=True
    )
    morsel = set_cookies(message)["k"]
    assert morsel.value == "v"
    assert morsel["max-age"] == "60"
    assert morsel["expires"].endswith("GMT")
    assert (morsel["domain"], morsel["path"], morsel["samesite"]) == ("example.com", "/", "lax")
    assert morsel["secure"] and morsel["httponly"]


def test_set_cookie_with_aware_datetime_expiry_computes_max_age() -> None:
    message: dict[str, Any] = {}
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    CookieMiddleware.set_cookie(message, "k", "v", expires=expires, samesite=None)
    morsel = set_cookies(message)["k"]
    assert 3590 <= int(morsel["max-age"]) <= 3601
    assert morsel["samesite"] == ""


def test_set_cookie_refuses_bad_samesite() -> None:
    # An AssertionError too: Channels asserts on a bad SameSite (its test_session_samesite_invalid).
    with pytest.raises(AssertionError, match="samesite must be"):
        CookieMiddleware.set_cookie({}, "k", "v", samesite="sometimes")


def test_delete_cookie_expires_it() -> None:
    message: dict[str, Any] = {}
    CookieMiddleware.delete_cookie(message, "k", path="/app/")
    morsel = set_cookies(message)["k"]
    assert (morsel.value, morsel["max-age"], morsel["path"]) == ("", "0", "/app/")
    assert "1970" in morsel["expires"]


# SessionMiddleware


async def test_session_middleware_needs_cookie_middleware() -> None:
    communicator = ApplicationCommunicator(
        SessionMiddleware(scope_echo), {"type": "websocket", "path": "/", "headers": []}
    )
    with pytest.raises(ConfigurationError, match="inside CookieMiddleware"):
        await communicator.receive_output()


async def test_modified_session_is_saved_and_its_cookie_set_then_read_back() -> None:
    async def write(scope: dict[str, Any]) -> None:
        await scope["session"].aset("color", "blue")

    response = await request(SessionMiddlewareStack(http_app(write)))
    cookie = session_cookie(response)
    key = cookie.split("=", 1)[1]
    stored = await database_sync_to_async(lambda: SessionStore(key).load())()
    assert stored == {"color": "blue"}
    morsel = set_cookies(response)[COOKIE]
    assert morsel["httponly"]
    assert int(morsel["max-age"]) == settings.SESSION_COOKIE_AGE

    seen = []

    async def read(scope: dict[str, Any]) -> None:
        seen.append(await scope["session"].aget("color"))

    second = await request(SessionMiddlewareStack(http_app(read)), cookie=cookie)
    assert seen == ["blue"]
    # Not modified: no new cookie.
    assert COOKIE not in set_cookies(second)


@pytest.mark.parametrize("cookie", [None, f"{COOKIE}=not-a-real-session-key", f"{COOKIE}="])
async def test_missing_or_invalid_session_cookie_gives_new_empty_session(
    cookie: str | None,
) -> None:
    contents = []

    async def write(scope: dict[str, Any]) -> None:
        contents.append(list(await scope["session"].aitems()))
        await scope["session"].aset("n", 1)

    response = await request(SessionMiddlewareStack(http_app(write)), cookie=cookie)
    assert contents == [[]]
    new_key = set_cookies(response)[COOKIE].value
    assert new_key and new_key != "not-a-real-session-key"
    assert await database_sync_to_async(lambda: SessionStore(new_key).load())() == {"n": 1}


async def test_flushed_session_deletes_the_cookie() -> None:
    async def write(scope: dict[str, Any]) -> None:
        await scope["session"].aset("a", 1)

    cookie = session_cookie(await request(SessionMiddlewareStack(http_app(write))))

    async def flush(scope: dict[str, Any]) -> None:
        await scope["session"].aflush()

    response = await request(SessionMiddlewareStack(http_app(flush)), cookie=cookie)
    morsel = set_cookies(response)[COOKIE]
    assert (morsel.value, morsel["max-age"]) == ("", "0")


async def test_error_response_does_not_save_the_session() -> None:
    async def write(scope: dict[str, Any]) -> None:
        await scope["session"].aset("a", 1)

    response = await request(SessionMiddlewareStack(http_app(write, status=500)))
    assert COOKIE not in set_cookies(response)


async def test_inner_session_middleware_passes_outer_session_through() -> None:
    sessions = []

    async def record(scope: dict[str, Any]) -> None:
        sessions.append(scope["session"])
        await scope["session"].aset("a", 1)

    response = await request(SessionMiddlewareStack(SessionMiddleware(http_app(record))))
    # Exactly one Set-Cookie: only the outermost session middleware saves.
    assert [name for name, _ in response["headers"]] == [b"Set-Cookie"]
    assert len(sessions) == 1


async def test_session_deleted_meanwhile_interrupts_the_response() -> None:
    async def write(scope: dict[str, Any]) -> None:
        await scope["session"].aset("a", 1)

    cookie = session_cookie(await request(SessionMiddlewareStack(http_app(write))))

    async def change_after_concurrent_logout(scope: dict[str, Any]) -> None:
        await scope["session"].aset("b", 2)
        key = scope["session"].session_key
        await database_sync_to_async(lambda: SessionStore(key).delete())()

    with pytest.raises(SessionInterrupted, match="deleted before the request completed") as info:
        await request(SessionMiddlewareStack(http_app(change_after_concurrent_logout)), cookie)
    # Channels raises SuspiciousOperation here; tests written for it catch that.
    assert isinstance(info.value, SuspiciousOperation)
