"""CallsignRouter: route ``ax25`` scopes by our station's callsign, as URLRouter routes by path.

::

    application = ProtocolTypeRouter({
        "ax25": CallsignRouter(
            {"BOT-1": ChatBot.as_asgi(), "BOT-2": Beacon.as_asgi()},
            monitor=Logbook.as_asgi(),       # optional: every frame heard
        ),
    })

The AX.25 adapter opens one scope per (local, remote, mode); the router runs the application
configured for ``scope["local"]`` (our callsign the station talked to). ``"BOT"`` and
``"BOT-0"`` are the same station. Scopes with ``mode == "monitor"`` go to ``monitor``.
This module works on callsign text only: gateway/ imports nothing from adapters/.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from typing import Any, cast

from gateway.exceptions import ConfigurationError, NoRouteFound

# Not imported from gateway.routing: that module re-exports this one at its end.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[Any]]

__all__ = ["CallsignRouter", "find_callsign_router", "normalize_callsign"]

_CALLSIGN = re.compile(r"([A-Z0-9]{1,6})(?:-([0-9]{1,2}))?")


def normalize_callsign(text: str) -> str:
    """``"bot-0"`` -> ``"BOT"``, ``"n0call-5"`` -> ``"N0CALL-5"``: the form scopes carry.

    Raises:
        ConfigurationError: not a callsign (1-6 letters/digits, optional -SSID 0-15).
    """
    match = _CALLSIGN.fullmatch(text.strip().upper())
    if match is None or (match.group(2) is not None and int(match.group(2)) > 15):
        raise ConfigurationError(
            f"{text!r} is not a callsign: use 1-6 letters or digits and an optional SSID "
            "0-15, like BOT-1"
        )
    call, ssid = match.groups()
    return call if ssid is None or int(ssid) == 0 else f"{call}-{int(ssid)}"


def _as_application(app: Any) -> ASGIApp:
    # A consumer class becomes its as_asgi() application (gateway.routing.as_application).
    if inspect.isclass(app) and inspect.ismethod(getattr(app, "as_asgi", None)):
        return cast(ASGIApp, app.as_asgi())  # type: ignore[attr-defined]
    return cast(ASGIApp, app)


class CallsignRouter:
    """Route ``ax25`` scopes by ``scope["local"]``; ``monitor`` gets the monitor scope."""

    def __init__(self, application_mapping: Mapping[str, Any], monitor: Any = None) -> None:
        """Build the router.

        Args:
            application_mapping: our callsign (``"BOT-1"``) to an ASGI application or consumer.
            monitor: the application for the scope that hears every frame, or None.

        Raises:
            ConfigurationError: a key is not a callsign, or two keys name the same station.
        """
        normalized: dict[str, ASGIApp] = {}
        for key, app in application_mapping.items():
            callsign = normalize_callsign(key)
            if callsign in normalized:
                raise ConfigurationError(
                    f"CallsignRouter has two routes for station {callsign} ({key!r} repeats it)"
                )
            normalized[callsign] = _as_application(app)
        self.application_mapping = normalized
        self.monitor: ASGIApp | None = None if monitor is None else _as_application(monitor)

    @property
    def callsigns(self) -> list[str]:
        """The callsigns routed (normalized)."""
        return list(self.application_mapping)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application for ``scope["local"]`` (or the monitor for monitor scopes).

        Raises:
            NoRouteFound: no route for that callsign, or a monitor scope without a monitor.
        """
        if scope.get("mode") == "monitor":
            if self.monitor is None:
                raise NoRouteFound("CallsignRouter has no monitor application for monitor scopes")
            return await self.monitor(scope, receive, send)
        local = scope.get("local")
        if not isinstance(local, str):
            raise NoRouteFound("CallsignRouter got a scope without a 'local' callsign")
        try:
            key = normalize_callsign(local)
        except ConfigurationError as exc:
            raise NoRouteFound(str(exc)) from None
        application = self.application_mapping.get(key)
        if application is None:
            configured = ", ".join(self.application_mapping) or "none"
            raise NoRouteFound(
                f"no application for callsign {key} (configured: {configured}); "
                "add it to CallsignRouter"
            )
        return await application(scope, receive, send)


def _children(app: Any) -> Iterator[Any]:
    # ProtocolTypeRouter keeps "ax25" in application_mapping; middleware wraps with .inner.
    mapping = getattr(app, "application_mapping", None)
    if isinstance(mapping, dict) and "ax25" in mapping:
        yield mapping["ax25"]
    for attribute in ("inner", "application", "app"):
        child = getattr(app, attribute, None)
        if child is not None and child is not app:
            yield child


def find_callsign_router(application: Any, depth: int = 8) -> CallsignRouter | None:
    """The CallsignRouter serving ``ax25`` scopes inside an application stack, if any."""
    if isinstance(application, CallsignRouter):
        return application
    if depth <= 0:
        return None
    for child in _children(application):
        found = find_callsign_router(child, depth - 1)
        if found is not None:
            return found
    return None
