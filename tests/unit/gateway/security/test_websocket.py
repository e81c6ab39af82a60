"""OriginValidator, AllowedHostsOriginValidator and WebsocketDenier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from gateway.exceptions import ConfigurationError
from gateway.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
    WebsocketDenier,
)
from gateway.testing import ApplicationCommunicator, WebsocketCommunicator


async def accepting(scope: Any, receive: Any, send: Any) -> None:
    """Accept, then wait for the disconnect."""
    await receive()
    await send({"type": "websocket.accept"})
    await receive()


async def connects(app: Any, origin: str | None) -> bool:
    headers = [(b"origin", origin.encode("latin-1"))] if origin is not None else []
    communicator = WebsocketCommunicator(app, "/ws/", headers=headers)
    connected, detail = await communicator.connect()
    if not connected:
        # A denial is a close before any accept, with the default code.
        assert detail == 1000
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    ("allowed", "origin", "expected"),
    [
        (["example.com"], "http://example.com", True),
        (["example.com"], "https://example.com:8443", True),
        (["example.com"], "http://EXAMPLE.com", True),
        (["example.com"], "http://www.example.com", False),
        (["example.com"], "http://example.com.evil.net", False),
        ([".example.com"], "http://www.example.com", True),
        ([".example.com"], "http://example.com", True),
        ([".example.com"], "http://badexample.com", False),
        (["example.com:9000"], "http://example.com:9000", True),
        (["example.com:9000"], "http://example.com:1234", False),
        (["example.com:80"], "ws://example.com", True),
        (["example.com:bad"], "http://example.com", False),
        (["http://example.com"], "http://example.com", True),
        (["http://example.com"], "http://example.com:80", True),
        (["http://example.com"], "https://example.com", False),
        (["http://example.com"], "http://example.com:8080", False),
        (["https://example.com:443"], "https://example.com", True),
        (["wss://example.com"], "wss://example.com:443", True),
        (["http://.example.com:8000"], "http://chat.example.com:8000", True),
        (["http://.example.com:8000"], "http://chat.example.com:8001", False),
        (["[::1]"], "http://[::1]:8000", True),
        (["127.0.0.1"], "http://127.0.0.1:8000", True),
        (["*"], "http://anything.example", True),
        (["example.com"], "null", False),
        (["example.com"], "http://[bad", False),
        (["example.com"], "http://example.com:notaport", False),
        ([], "http://example.com", False),
    ],
)
async def test_origin_patterns(allowed: list[str], origin: str, expected: bool) -> None:
    assert await connects(OriginValidator(accepting, allowed), origin) is expected


async def test_missing_origin_is_denied_unless_star() -> None:
    assert not await connects(OriginValidator(accepting, ["example.com"]), None)
    assert await connects(OriginValidator(accepting, ["*"]), None)


async def test_denied_connection_never_reaches_the_application() -> None:
    reached = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)
        await accepting(scope, receive, send)

    assert not await connects(OriginValidator(app, ["example.com"]), "http://evil.example")
    assert reached == []


async def test_origin_validator_refuses_non_websocket_scopes() -> None:
    communicator = ApplicationCommunicator(
        OriginValidator(accepting, ["*"]), {"type": "http", "path": "/", "headers": []}
    )
    with pytest.raises(ConfigurationError, match="only the 'websocket' application"):
        await communicator.receive_output()


@pytest.mark.parametrize("make", [WebsocketDenier, WebsocketDenier.as_asgi])
async def test_websocket_denier_closes_before_accept_and_ends_on_disconnect(
    make: Callable[[], WebsocketDenier],
) -> None:
    # as_asgi(): Channels' WebsocketDenier is a consumer class, routed as such.
    communicator = WebsocketCommunicator(make(), "/")
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output() == {"type": "websocket.close"}
    await communicator.disconnect()
    assert communicator.future.done()


@override_settings(ALLOWED_HOSTS=[], DEBUG=True)
async def test_allowed_hosts_in_debug_allows_localhost_forms() -> None:
    validator = AllowedHostsOriginValidator(accepting)
    assert await connects(validator, "http://localhost:8000")
    assert await connects(validator, "http://app.localhost:3000")
    assert await connects(validator, "http://127.0.0.1:8000")
    assert await connects(validator, "http://[::1]")
    assert not await connects(validator, "http://example.com")


@override_settings(ALLOWED_HOSTS=[], DEBUG=False)
async def test_allowed_hosts_empty_without_debug_denies_everything() -> None:
    assert not await connects(AllowedHostsOriginValidator(accepting), "http://localhost")


@override_settings(ALLOWED_HOSTS=["chat.example.com", ".example.org"], DEBUG=True)
async def test_allowed_hosts_setting_is_used_as_patterns() -> None:
    validator = AllowedHostsOriginValidator(accepting)
    assert await connects(validator, "https://chat.example.com")
    assert await connects(validator, "https://www.example.org")
    assert not await connects(validator, "http://localhost")


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@given(host=st.lists(label, min_size=1, max_size=4).map(".".join), sub=label)
def test_subdomain_pattern_matches_domain_and_subdomains(host: str, sub: str) -> None:
    validator = OriginValidator(accepting, ["." + host])
    assert validator.valid_origin(OriginValidator._origin_of(origin_scope(f"http://{host}")))
    assert validator.valid_origin(OriginValidator._origin_of(origin_scope(f"https://{sub}.{host}")))
    assert not validator.valid_origin(
        OriginValidator._origin_of(origin_scope(f"http://{host}x.test"))
    )


@given(raw=st.binary(max_size=60), pattern=st.sampled_from(["example.com", "http://a.b:1", "*"]))
def test_any_origin_header_gives_a_verdict_never_an_error(raw: bytes, pattern: str) -> None:
    validator = OriginValidator(accepting, [pattern])
    verdict = validator.valid_origin(
        OriginValidator._origin_of({"type": "websocket", "headers": [(b"origin", raw)]})
    )
    assert verdict is True if pattern == "*" else isinstance(verdict, bool)


def origin_scope(origin: str) -> dict[str, Any]:
    return {"type": "websocket", "headers": [(b"origin", origin.encode())]}
