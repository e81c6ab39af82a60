"""TopicRouter: route MQTT scopes by topic, as URLRouter routes HTTP/WebSocket scopes by path.

::

    application = ProtocolTypeRouter({
        "mqtt": TopicRouter([
            topic("devices/{device_id}/#", DeviceConsumer.as_asgi(),
                  status="devices/{device_id}/status"),
            topic("sensors/+/temperature", TemperatureConsumer),
        ]),
    })

Patterns are MQTT topic filters (``+`` one level, ``#`` the rest, as the last level) whose
levels may be named captures ``{name}``. The MQTT adapter opens one scope per route and per
distinct set of captured values (one scope per device) and puts the values in
``scope["topic_route"]["kwargs"]``. Anonymous ``+``/``#`` widen what a route matches without
splitting scopes. The adapter subscribes to :attr:`TopicRouter.filters` and asks
:meth:`TopicRouter.resolve` which scope a message belongs to; the router itself, as an ASGI
application, matches ``scope["topic"]`` (the topic of the scope's first message) again and
calls the route's application. Routes are tried in order; the first match wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.applications import as_application
from gateway.exceptions import ConfigurationError, NoRouteFound
from gateway.mqtt.topics import TopicPattern, minimal_filters, parse_pattern
from gateway.types import ASGIApp, Receive, Scope, Send

__all__ = ["TopicMatch", "TopicRoute", "TopicRouter", "find_topic_router", "topic"]


@dataclass(frozen=True)
class TopicRoute:
    """One route: a pattern, its application, and optionally its devices' status topic.

    Attributes:
        pattern: the parsed route pattern.
        application: the ASGI application for scopes of this route.
        status: a pattern with the same captures whose messages carry the device's status
            (its last will, typically); an "offline" payload there closes the device's scope.
        name: an optional label for logs.
    """

    pattern: TopicPattern
    application: ASGIApp
    status: TopicPattern | None = None
    name: str | None = None


@dataclass(frozen=True)
class TopicMatch:
    """Where a message goes: the route (by index), its captured values, and whether the
    message came in on the route's status topic."""

    index: int
    route: TopicRoute
    kwargs: dict[str, str]
    is_status: bool

    @property
    def key(self) -> tuple[int, tuple[tuple[str, str], ...]]:
        """A hashable key for the scope: one per route and distinct set of captured values."""
        return (self.index, tuple(sorted(self.kwargs.items())))


def topic(
    pattern: str, application: Any, *, status: str | None = None, name: str | None = None
) -> TopicRoute:
    """Build a route for :class:`TopicRouter` (the MQTT counterpart of ``path()``).

    Args:
        pattern: an MQTT topic filter whose levels may be ``{name}`` captures.
        application: an ASGI application or a consumer class.
        status: the status / last-will topic pattern of the same devices, e.g.
            ``"devices/{device_id}/status"``; it must capture the same names.
        name: an optional label for logs.

    Raises:
        ConfigurationError: the pattern is invalid or status captures other names.
    """
    parsed = parse_pattern(pattern)
    status_pattern = parse_pattern(status) if status is not None else None
    if status_pattern is not None and set(status_pattern.names) != set(parsed.names):
        raise ConfigurationError(
            f"status pattern {status!r} must capture the same names as {pattern!r} "
            f"({', '.join(parsed.names) or 'none'})"
        )
    return TopicRoute(parsed, as_application(application), status_pattern, name)


class TopicRouter:
    """An ASGI application routing ``mqtt`` scopes to the first route whose pattern matches."""

    def __init__(self, routes: Iterable[TopicRoute]) -> None:
        """Build the router.

        Args:
            routes: :func:`topic` routes, tried in order.

        Raises:
            ConfigurationError: an item is not a route made with ``topic()``.
        """
        self.routes: list[TopicRoute] = []
        for route in routes:
            if not isinstance(route, TopicRoute):
                raise ConfigurationError(
                    f"TopicRouter takes routes made with topic(pattern, app), got {route!r}"
                )
            self.routes.append(route)

    @property
    def filters(self) -> list[str]:
        """The topic filters to subscribe to (route and status patterns), without repeats or
        filters another one covers."""
        filters: list[str] = []
        for route in self.routes:
            filters.append(route.pattern.filter)
            if route.status is not None:
                filters.append(route.status.filter)
        return minimal_filters(filters)

    def resolve(self, topic_name: str) -> TopicMatch | None:
        """Return the first route matching a topic name, with its captured values, or None."""
        for index, route in enumerate(self.routes):
            if route.status is not None:
                kwargs = route.status.match(topic_name)
                if kwargs is not None:
                    return TopicMatch(index, route, kwargs, True)
            kwargs = route.pattern.match(topic_name)
            if kwargs is not None:
                return TopicMatch(index, route, kwargs, False)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application of the route matching ``scope["topic"]``.

        Raises:
            NoRouteFound: no route matches (the message says which topic and which patterns).
        """
        topic_name = scope.get("topic")
        found = self.resolve(topic_name) if isinstance(topic_name, str) else None
        if found is None:
            patterns = ", ".join(route.pattern.pattern for route in self.routes) or "none"
            raise NoRouteFound(
                f"no topic route matches {topic_name!r} (patterns: {patterns}); add a topic() route"
            )
        route = found.route
        inner = dict(scope)
        inner["topic_route"] = {
            "args": (),
            "kwargs": found.kwargs,
            "pattern": route.pattern.pattern,
            "name": route.name,
        }
        return await route.application(inner, receive, send)


def _children(app: Any) -> Iterator[Any]:
    # ProtocolTypeRouter keeps "mqtt" in application_mapping; middleware wraps with .inner.
    mapping = getattr(app, "application_mapping", None)
    if isinstance(mapping, dict) and "mqtt" in mapping:
        yield mapping["mqtt"]
    for attribute in ("inner", "application", "app"):
        child = getattr(app, attribute, None)
        if child is not None and child is not app:
            yield child


def find_topic_router(application: Any, depth: int = 8) -> TopicRouter | None:
    """Find the TopicRouter serving ``mqtt`` scopes inside an application stack, if any.

    Looks through ProtocolTypeRouter's ``"mqtt"`` entry and middleware ``inner`` attributes.
    """
    if isinstance(application, TopicRouter):
        return application
    if depth <= 0:
        return None
    for child in _children(application):
        found = find_topic_router(child, depth - 1)
        if found is not None:
            return found
    return None
