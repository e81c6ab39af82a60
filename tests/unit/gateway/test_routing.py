"""ProtocolTypeRouter, URLRouter and ChannelNameRouter: matching, captures, nesting, errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.urls import URLPattern, include, register_converter
from django.urls.resolvers import LocalePrefixPattern
from hypothesis import given
from hypothesis import strategies as st

from gateway.exceptions import ConfigurationError, NoRouteFound
from gateway.middleware import BaseMiddleware
from gateway.routing import (
    ChannelNameRouter,
    ProtocolTypeRouter,
    URLRouter,
    get_default_application,
    path,
    re_path,
    url,
)
from gateway.testing import ApplicationCommunicator
from tests.unit.gateway.asgi_apps import EchoConsumer, named_echo, scope_echo


async def run(app: Any, scope: dict[str, Any]) -> dict[str, Any]:
    """Run ``app`` for ``scope``, give it one event and return what it echoed."""
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "test.event"})
    message = await communicator.receive_output()
    await communicator.wait()
    return message


def ws(path_: str, **extra: Any) -> dict[str, Any]:
    return {"type": "websocket", "path": path_, **extra}


class EvenConverter:
    """Matches digits; refuses odd numbers in to_python, as a converter may."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number % 2:
            raise ValueError("odd")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(EvenConverter, "even")


# ProtocolTypeRouter


async def test_protocol_type_router_picks_by_scope_type() -> None:
    router = ProtocolTypeRouter({"websocket": named_echo("ws"), "mqtt": named_echo("mqtt")})
    assert (await run(router, {"type": "mqtt", "topic": "a/b"}))["name"] == "mqtt"
    assert (await run(router, ws("/")))["name"] == "ws"


async def test_protocol_type_router_unknown_type_names_type_and_configured_ones() -> None:
    router = ProtocolTypeRouter({"websocket": scope_echo, "http": scope_echo})
    communicator = ApplicationCommunicator(router, {"type": "telegram"})
    with pytest.raises(NoRouteFound, match=r"'telegram'.*configured: http, websocket"):
        await communicator.receive_output()


async def test_protocol_type_router_accepts_consumer_class() -> None:
    router = ProtocolTypeRouter({"telegram": EchoConsumer})
    before = EchoConsumer.instances
    message = await run(router, {"type": "telegram", "chat_id": 7})
    assert message["name"] == "EchoConsumer"
    assert EchoConsumer.instances == before + 1


# URLRouter: matching and captures


async def test_path_converters_give_typed_kwargs() -> None:
    router = URLRouter([path("rooms/<int:room>/<slug:name>/", scope_echo)])
    scope = (await run(router, ws("/rooms/42/lobby-1/")))["scope"]
    assert scope["url_route"] == {"args": (), "kwargs": {"room": 42, "name": "lobby-1"}}
    assert scope["path_remaining"] == ""
    assert scope["path"] == "/rooms/42/lobby-1/"


async def test_custom_converter_refusing_value_means_no_match() -> None:
    router = URLRouter([path("n/<even:n>/", named_echo("even")), re_path(r"^n/", named_echo("re"))])
    assert (await run(router, ws("/n/4/")))["scope"]["url_route"]["kwargs"] == {"n": 4}
    assert (await run(router, ws("/n/3/")))["name"] == "re"


async def test_re_path_named_groups_are_kwargs_unnamed_are_args() -> None:
    router = URLRouter(
        [
            re_path(r"^named/(?P<slug>[a-z]+)/$", named_echo("named")),
            re_path(r"^plain/([a-z]+)/([0-9]+)/$", named_echo("plain")),
        ]
    )
    named = (await run(router, ws("/named/abc/")))["scope"]["url_route"]
    assert named == {"args": (), "kwargs": {"slug": "abc"}}
    plain = (await run(router, ws("/plain/abc/12/")))["scope"]["url_route"]
    assert plain == {"args": ("abc", "12"), "kwargs": {}}


async def test_url_is_re_path_and_routes_are_tried_in_order() -> None:
    assert url is re_path
    router = URLRouter(
        [url(r"^chat/admin/$", named_echo("admin")), url(r"^chat/", named_echo("public"))]
    )
    assert (await run(router, ws("/chat/admin/")))["name"] == "admin"
    assert (await run(router, ws("/chat/other/")))["name"] == "public"


async def test_route_kwargs_are_added_and_override_captures() -> None:
    router = URLRouter([path("x/<str:mode>/", scope_echo, kwargs={"mode": "fixed", "extra": 1})])
    kwargs = (await run(router, ws("/x/given/")))["scope"]["url_route"]["kwargs"]
    assert kwargs == {"mode": "fixed", "extra": 1}


async def test_route_to_consumer_class_uses_as_asgi() -> None:
    router = URLRouter([path("c/", EchoConsumer)])
    assert (await run(router, ws("/c/")))["name"] == "EchoConsumer"


async def test_no_route_names_the_path() -> None:
    router = URLRouter([path("a/", scope_echo), re_path(r"^b/$", scope_echo)])
    communicator = ApplicationCommunicator(router, ws("/nowhere/"))
    with pytest.raises(NoRouteFound, match=r"no route found for path '/nowhere/'.*a/.*\^b/\$"):
        await communicator.receive_output()


async def test_endpoint_route_does_not_match_longer_path() -> None:
    router = URLRouter([path("chat/", scope_echo)])
    assert router.resolve(ws("/chat/")) is not None
    assert router.resolve(ws("/chat/more/")) is None


async def test_scope_without_path_is_refused() -> None:
    router = URLRouter([path("", scope_echo)])
    communicator = ApplicationCommunicator(router, {"type": "mqtt", "topic": "t"})
    with pytest.raises(NoRouteFound, match="no 'path'"):
        await communicator.receive_output()


async def test_root_path_is_stripped_by_outermost_router() -> None:
    router = URLRouter([path("chat/", scope_echo)])
    scope = (await run(router, ws("/prefix/chat/", root_path="/prefix")))["scope"]
    assert scope["path_remaining"] == ""
    assert scope["path"] == "/prefix/chat/"


async def test_path_outside_root_path_is_refused() -> None:
    router = URLRouter([path("chat/", scope_echo)])
    communicator = ApplicationCommunicator(router, ws("/chat/", root_path="/prefix"))
    with pytest.raises(NoRouteFound, match="outside root_path '/prefix'"):
        await communicator.receive_output()


# URLRouter: nesting


async def test_nested_routers_merge_captured_kwargs() -> None:
    inner = URLRouter([path("messages/<slug:kind>/", scope_echo)])
    router = URLRouter([path("rooms/<int:room>/", inner)])
    scope = (await run(router, ws("/rooms/9/messages/new/")))["scope"]
    assert scope["url_route"] == {"args": (), "kwargs": {"room": 9, "kind": "new"}}
    assert scope["path_remaining"] == ""


async def test_nested_re_path_with_dollar_is_treated_as_prefix() -> None:
    # An outer route written as an endpoint still works as a prefix, as in Channels.
    inner = URLRouter([re_path(r"^(?P<id>\d+)/$", scope_echo)])
    router = URLRouter([re_path(r"^items/", inner)])
    scope = (await run(router, ws("/items/5/")))["scope"]
    assert scope["url_route"]["kwargs"] == {"id": "5"}


async def test_three_levels_and_positional_args_accumulate() -> None:
    level3 = URLRouter([re_path(r"^([a-z]+)/$", scope_echo)])
    level2 = URLRouter([re_path(r"^([0-9]+)/", level3)])
    router = URLRouter([path("api/<str:version>/", level2)])
    route = (await run(router, ws("/api/v2/17/abc/")))["scope"]["url_route"]
    assert route == {"args": ("17", "abc"), "kwargs": {"version": "v2"}}


async def test_inner_router_without_match_lets_next_outer_route_try() -> None:
    inner = URLRouter([path("only/", named_echo("inner"))])
    router = URLRouter([path("shared/", inner), re_path(r"^shared/other/$", named_echo("outer"))])
    assert (await run(router, ws("/shared/other/")))["name"] == "outer"
    assert (await run(router, ws("/shared/only/")))["name"] == "inner"


async def test_nested_no_match_raises_no_route_found() -> None:
    router = URLRouter([path("a/", URLRouter([path("b/", scope_echo)]))])
    communicator = ApplicationCommunicator(router, ws("/a/c/"))
    with pytest.raises(NoRouteFound, match="'/a/c/'"):
        await communicator.receive_output()


async def test_router_behind_middleware_routes_on_path_remaining() -> None:
    inner = BaseMiddleware(URLRouter([path("<int:n>/", scope_echo)]))
    router = URLRouter([re_path(r"^wrapped/", inner)])
    scope = (await run(router, ws("/wrapped/3/")))["scope"]
    assert scope["url_route"]["kwargs"] == {"n": 3}


# URLRouter: configuration errors


def test_include_is_refused_with_advice() -> None:
    with pytest.raises(ConfigurationError, match="nested URLRouter"):
        URLRouter([path("x/", include([path("y/", scope_echo)]))])


def test_locale_prefix_pattern_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="path\\(\\) and re_path\\(\\) patterns only"):
        URLRouter([URLPattern(LocalePrefixPattern(), scope_echo)])


def test_non_route_entry_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="path\\(\\), re_path\\(\\)"):
        URLRouter([scope_echo])  # type: ignore[list-item]


# ChannelNameRouter


async def test_channel_name_router_picks_by_channel() -> None:
    router = ChannelNameRouter({"thumbs": named_echo("thumbs"), "mail": EchoConsumer})
    assert (await run(router, {"type": "channel", "channel": "thumbs"}))["name"] == "thumbs"
    assert (await run(router, {"type": "channel", "channel": "mail"}))["name"] == "EchoConsumer"


async def test_channel_name_router_unknown_channel() -> None:
    router = ChannelNameRouter({"thumbs": scope_echo})
    communicator = ApplicationCommunicator(router, {"type": "channel", "channel": "nope"})
    with pytest.raises(NoRouteFound, match=r"'nope'.*configured: thumbs"):
        await communicator.receive_output()


async def test_channel_name_router_scope_without_channel() -> None:
    router = ChannelNameRouter({"thumbs": scope_echo})
    communicator = ApplicationCommunicator(router, {"type": "websocket", "path": "/"})
    with pytest.raises(NoRouteFound, match="without a 'channel' key"):
        await communicator.receive_output()


# get_default_application


def test_get_default_application_imports_setting() -> None:
    with override_settings(ASGI_APPLICATION="tests.unit.gateway.asgi_apps.scope_echo"):
        assert get_default_application() is scope_echo


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "set ASGI_APPLICATION"),
        ("no_such_module_xyz.app", "cannot import"),
        ("tests.unit.gateway.asgi_apps.missing", "has no 'missing'"),
    ],
)
def test_get_default_application_errors(value: str, message: str) -> None:
    with (
        override_settings(ASGI_APPLICATION=value),
        pytest.raises(ConfigurationError, match=message),
    ):
        get_default_application()


# Properties

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
nested_router = URLRouter(
    [path("r/<slug:room>/", URLRouter([path("<slug:kind>/<int:n>/", scope_echo)]))]
)


@given(room=segment, kind=segment, n=st.integers(min_value=0, max_value=10**9))
def test_nested_resolution_returns_every_capture(room: str, kind: str, n: int) -> None:
    resolved = nested_router.resolve(ws(f"/r/{room}/{kind}/{n}/"))
    assert resolved is not None
    application, remaining, args, kwargs = resolved
    assert application is scope_echo
    assert (remaining, args, kwargs) == ("", (), {"room": room, "kind": kind, "n": n})


@given(tail=st.text(max_size=30).filter(lambda text: not text.startswith("/")))
def test_resolution_never_raises_for_any_path(tail: str) -> None:
    # Any path resolves or gives None: garbage paths are "no route", never a crash.
    result = nested_router.resolve(ws("/" + tail))
    assert result is None or result[0] is scope_echo
