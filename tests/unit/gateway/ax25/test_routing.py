"""CallsignRouter: routing ax25 scopes by our callsign; BOT == BOT-0; the monitor route."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.ax25.routing import CallsignRouter, find_callsign_router, normalize_callsign
from gateway.exceptions import ConfigurationError, NoRouteFound
from gateway.routing import CallsignRouter as ReExported
from gateway.routing import ProtocolTypeRouter


def app(name: str) -> Any:
    async def application(scope: Any, receive: Any, send: Any) -> str:
        return name

    return application


async def nothing() -> dict[str, Any]:
    return {}


async def ignore(message: dict[str, Any]) -> None:
    pass


@pytest.mark.parametrize(
    ("text", "expected"),
    [("bot", "BOT"), ("BOT-0", "BOT"), (" n0call-05 ", "N0CALL-5"), ("BOT-15", "BOT-15")],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize_callsign(text) == expected


@pytest.mark.parametrize("text", ["BOT-16", "TOOLONG", "", "B-O-T", "BOT-"])
def test_normalize_rejects(text: str) -> None:
    with pytest.raises(ConfigurationError, match="not a callsign"):
        normalize_callsign(text)


async def test_routes_by_local_callsign_bot_is_bot_0() -> None:
    router = CallsignRouter({"BOT": app("zero"), "bot-1": app("one")}, monitor=app("mon"))
    assert ReExported is CallsignRouter
    assert router.callsigns == ["BOT", "BOT-1"]
    assert await router({"type": "ax25", "local": "BOT-0"}, nothing, ignore) == "zero"
    assert await router({"type": "ax25", "local": "BOT"}, nothing, ignore) == "zero"
    assert await router({"type": "ax25", "local": "BOT-1"}, nothing, ignore) == "one"
    assert (
        await router({"type": "ax25", "mode": "monitor", "local": None}, nothing, ignore) == "mon"
    )


async def test_no_route() -> None:
    router = CallsignRouter({"BOT-1": app("one")})
    with pytest.raises(NoRouteFound, match=r"BOT-2 .*configured: BOT-1"):
        await router({"type": "ax25", "local": "BOT-2"}, nothing, ignore)
    with pytest.raises(NoRouteFound, match="no monitor"):
        await router({"type": "ax25", "mode": "monitor"}, nothing, ignore)
    with pytest.raises(NoRouteFound, match="without a 'local'"):
        await router({"type": "ax25"}, nothing, ignore)


def test_same_station_twice_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="two routes for station BOT"):
        CallsignRouter({"BOT": app("a"), "BOT-0": app("b")})


def test_found_inside_protocol_type_router() -> None:
    router = CallsignRouter({"BOT-1": app("one")})
    assert find_callsign_router(ProtocolTypeRouter({"ax25": router})) is router
    assert find_callsign_router(ProtocolTypeRouter({"mqtt": app("x")})) is None
