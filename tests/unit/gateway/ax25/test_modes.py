"""ModeRouter picks the application by the scope's AX.25 mode."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.ax25.modes import ModeRouter
from gateway.exceptions import NoRouteFound


def app(name: str) -> Any:
    async def application(scope: Any, receive: Any, send: Any) -> str:
        return name

    return application


async def test_routes_by_mode_with_default() -> None:
    router = ModeRouter({"connected": app("node")}, default=app("bot"))
    assert await router({"type": "ax25", "mode": "connected"}, None, None) == "node"
    assert await router({"type": "ax25", "mode": "aprs"}, None, None) == "bot"


async def test_no_route_says_what_to_add() -> None:
    router = ModeRouter({"connected": app("node")})
    with pytest.raises(NoRouteFound, match=r"mode 'aprs'.*routed: connected"):
        await router({"type": "ax25", "mode": "aprs"}, None, None)
