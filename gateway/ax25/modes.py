"""ModeRouter: one callsign, one application per AX.25 mode.

The AX.25 adapter opens scopes with ``mode`` "datagram", "aprs" or "connected" (and "monitor").
A callsign routed by :class:`~gateway.ax25.routing.CallsignRouter` may need a different
consumer for a connected session than for APRS messages::

    CallsignRouter({
        "BOT-1": ModeRouter({"connected": PacketNode.as_asgi()}, default=RadioBot.as_asgi()),
    })
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.ax25.routing import ASGIApp, Receive, Scope, Send, _as_application
from gateway.exceptions import NoRouteFound

__all__ = ["ModeRouter"]


class ModeRouter:
    """Route ``ax25`` scopes by ``scope["mode"]``; ``default`` takes the modes not listed."""

    def __init__(self, application_mapping: Mapping[str, Any], default: Any = None) -> None:
        self.application_mapping: dict[str, ASGIApp] = {
            mode: _as_application(app) for mode, app in application_mapping.items()
        }
        self.default: ASGIApp | None = None if default is None else _as_application(default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application for the scope's mode.

        Raises:
            NoRouteFound: no application for that mode and no default.
        """
        mode = scope.get("mode")
        application = self.application_mapping.get(str(mode), self.default)
        if application is None:
            raise NoRouteFound(
                f"no application for AX.25 mode {mode!r} (routed: "
                f"{', '.join(self.application_mapping) or 'none'}); add it or a default"
            )
        return await application(scope, receive, send)
