"""Routing and db names where Channels 4.3's callers depend on exact exception types, and
``aclose_old_connections`` (Channels 4.2+)."""

from __future__ import annotations

import pytest
from django.urls import include

import gateway.db
from gateway.db import aclose_old_connections
from gateway.exceptions import NoRouteFound, ScopeKeyMissing
from gateway.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter, path, re_path
from gateway.testing import ApplicationCommunicator
from tests.unit.gateway.asgi_apps import named_echo, scope_echo


async def receive_nothing() -> dict[str, str]:
    raise AssertionError("the router must fail before reading")


async def send_nothing(message: object) -> None:
    raise AssertionError("the router must fail before sending")


@pytest.mark.parametrize("caught", [KeyError, ValueError, NoRouteFound])
async def test_scope_without_type_is_a_key_error_too(caught: type[Exception]) -> None:
    router = ProtocolTypeRouter({"websocket": scope_echo})
    with pytest.raises(caught) as info:
        await router({"path": "/"}, receive_nothing, send_nothing)
    assert isinstance(info.value, ScopeKeyMissing)
    assert str(info.value).startswith("the scope has no 'type' key")


async def test_channel_scope_without_channel_is_a_key_error_too() -> None:
    router = ChannelNameRouter({"work": scope_echo})
    with pytest.raises(KeyError, match="without a 'channel' key"):
        await router({"type": "channel"}, receive_nothing, send_nothing)


async def test_unknown_type_stays_a_value_error_only() -> None:
    with pytest.raises(NoRouteFound) as info:
        await ProtocolTypeRouter({})({"type": "mqtt"}, receive_nothing, send_nothing)
    assert not isinstance(info.value, KeyError)


async def route(router: URLRouter, path_: str) -> dict[str, object]:
    communicator = ApplicationCommunicator(router, {"type": "websocket", "path": path_})
    await communicator.send_input({"type": "go"})
    message = await communicator.receive_output()
    await communicator.wait()
    return message


async def test_include_of_a_list_with_kwargs_and_fallthrough() -> None:
    router = URLRouter(
        [
            path("rooms/", include([path("<int:room>/", named_echo("inner"))]), {"v": 2}),
            re_path(r"^rooms/lobby/$", named_echo("lobby")),
        ]
    )
    inner = await route(router, "/rooms/7/")
    assert inner["name"] == "inner"
    assert inner["scope"]["url_route"]["kwargs"] == {"room": 7, "v": 2}  # type: ignore[index]
    # No match inside the include: the next outer route tries, as with Django's include().
    assert (await route(router, "/rooms/lobby/"))["name"] == "lobby"


async def test_include_of_a_module() -> None:
    router = URLRouter([path("api/", include("tests.unit.gateway.included_routes"))])
    assert (await route(router, "/api/ping/"))["name"] == "ping"


async def test_aclose_old_connections_runs_djangos_cleanup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gateway.db, "close_old_connections", lambda: calls.append("closed"))
    await aclose_old_connections()
    assert calls == ["closed"]
