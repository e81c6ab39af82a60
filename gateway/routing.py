"""Routers: ASGI applications that pick another ASGI application for each scope.

As in Django Channels 4, every router is itself an ASGI application, so they nest:

* ``ProtocolTypeRouter`` picks by ``scope["type"]`` (``"websocket"``, ``"mqtt"``, ``"telegram"``).
* ``URLRouter`` picks by ``scope["path"]`` with Django's ``path()``/``re_path()`` patterns and
  converters, stores captured values in ``scope["url_route"]`` and the unmatched rest of the path
  in ``scope["path_remaining"]`` for a nested ``URLRouter``.
* ``ChannelNameRouter`` picks by ``scope["channel"]`` (``runworker`` scopes).

Anywhere an application is expected, a consumer class may be given directly: a class with an
``as_asgi`` classmethod is replaced by ``Consumer.as_asgi()`` once, when the router is built.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from django.urls import URLPattern, URLResolver, path, re_path
from django.urls.resolvers import RegexPattern, RoutePattern

from gateway.exceptions import ConfigurationError, NoRouteFound

__all__ = [
    "ChannelNameRouter",
    "ProtocolTypeRouter",
    "URLRouter",
    "as_application",
    "get_default_application",
    "path",
    "re_path",
    "url",
]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[Any]]

#: The seed code (Channels 1 style) writes ``url(r"^chat/$", Consumer)``: a regex route.
url = re_path


def as_application(app: Any) -> ASGIApp:
    """Return the ASGI application to run for ``app``.

    A consumer class (any class with an ``as_asgi`` classmethod) becomes ``app.as_asgi()``; any
    other object is returned unchanged and must already be an ASGI 3 application.

    Args:
        app: an ASGI application or a consumer class.

    Returns:
        A single-callable ASGI application.
    """
    if inspect.isclass(app) and inspect.ismethod(getattr(app, "as_asgi", None)):
        return cast(ASGIApp, app.as_asgi())  # type: ignore[attr-defined]
    return cast(ASGIApp, app)


def get_default_application() -> ASGIApp:
    """Import and return the application named by ``settings.ASGI_APPLICATION``.

    Raises:
        ConfigurationError: the setting is missing or does not name an importable object.
    """
    from django.conf import settings

    dotted = getattr(settings, "ASGI_APPLICATION", None)
    if not dotted or "." not in dotted:
        raise ConfigurationError(
            f"set ASGI_APPLICATION to the dotted path of your application, got {dotted!r}"
        )
    module_name, _, attribute = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import {module_name!r} named by ASGI_APPLICATION: {exc}"
        ) from exc
    try:
        return as_application(getattr(module, attribute))
    except AttributeError as exc:
        raise ConfigurationError(
            f"module {module_name!r} has no {attribute!r} (from ASGI_APPLICATION={dotted!r})"
        ) from exc


class _MappingRouter:
    """Shared part of the routers that look an application up by one key of the scope."""

    #: How the key is called in error messages.
    _key_label: ClassVar[str]

    def __init__(self, application_mapping: Mapping[str, Any]) -> None:
        """Build the router.

        Args:
            application_mapping: key to ASGI application (or consumer class).
        """
        self.application_mapping: dict[str, ASGIApp] = {
            key: as_application(app) for key, app in application_mapping.items()
        }

    def _application_for(self, key: Any) -> ASGIApp:
        try:
            return self.application_mapping[key]
        except (KeyError, TypeError):
            configured = ", ".join(sorted(self.application_mapping)) or "none"
            raise NoRouteFound(
                f"no application configured for {self._key_label} {key!r} "
                f"(configured: {configured}); add it to {type(self).__name__}"
            ) from None


class ProtocolTypeRouter(_MappingRouter):
    """Route a scope to an application by its protocol type, ``scope["type"]``.

    Example::

        application = ProtocolTypeRouter({
            "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
            "telegram": ChattyBotConsumer,
        })
    """

    _key_label = "scope type"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application configured for ``scope["type"]``.

        Raises:
            NoRouteFound: no application is configured for that type.
        """
        return await self._application_for(scope.get("type"))(scope, receive, send)


@dataclass(frozen=True)
class _Route:
    """One compiled URLRouter entry: what to match, what to run, which defaults to add."""

    pattern: RegexPattern | RoutePattern
    application: ASGIApp
    default_args: dict[str, Any]


class URLRouter:
    """Route a scope by its path using Django ``path()`` / ``re_path()`` entries.

    Captured values are added to ``scope["url_route"]`` as ``{"args": ..., "kwargs": ...}``,
    merged with those of an outer ``URLRouter``. The part of the path that the pattern did not
    consume is passed on as ``scope["path_remaining"]``, so a route whose application is another
    ``URLRouter`` acts like Django's ``include()``: its pattern is a prefix, not an endpoint.

    The outermost router strips ``scope["root_path"]`` from the path first. Leading slashes are
    ignored, as in Django URLconfs: route ``"chat/"`` matches path ``"/chat/"``.

    Raises (when called):
        NoRouteFound: no route matches the path (or the scope has no path).
        ConfigurationError (when built): an entry is not a ``path()``/``re_path()`` route.
    """

    #: Marks an application that routes on ``path_remaining``; an outer URLRouter then treats
    #: the route to it as a prefix (same attribute as in Channels, so third-party routers work).
    _path_routing = True

    def __init__(self, routes: Iterable[URLPattern]) -> None:
        """Build the router.

        Args:
            routes: ``path()``, ``re_path()`` or ``url()`` entries whose view is an ASGI
                application or a consumer class.
        """
        self.routes = list(routes)
        self._compiled = [self._compile(route) for route in self.routes]

    @staticmethod
    def _compile(route: Any) -> _Route:
        if isinstance(route, URLResolver):
            raise ConfigurationError(
                f"{route!r}: include() is not supported in URLRouter; "
                "use a nested URLRouter instead"
            )
        if not isinstance(route, URLPattern):
            raise ConfigurationError(
                f"URLRouter entries must be path(), re_path() or url() routes, got {route!r}"
            )
        application = as_application(route.callback)
        pattern = route.pattern
        if not isinstance(pattern, RegexPattern | RoutePattern):
            raise ConfigurationError(
                f"{route!r}: URLRouter supports path() and re_path() patterns only"
            )
        if getattr(application, "_path_routing", False):
            # The inner router matches the rest: compile our pattern without the end anchor.
            # str() of a pattern is its source: the regex, or the route with its converters.
            pattern = type(pattern)(str(pattern), pattern.name, is_endpoint=False)
        return _Route(pattern, application, dict(route.default_args))

    def resolve(self, scope: Scope) -> tuple[ASGIApp, str, tuple[Any, ...], dict[str, Any]] | None:
        """Find the application for a scope without running it.

        Nested ``URLRouter`` applications are resolved through, so a prefix whose inner router
        has no match lets the next route of this router try (Django's include() behaviour).

        Args:
            scope: a scope with ``path`` (and ``path_remaining`` when this router is nested).

        Returns:
            (application, path_remaining, args, kwargs) for the innermost match, where args and
            kwargs are this router's captures merged with its nested routers', or None.

        Raises:
            NoRouteFound: the scope has no path, or its path is outside ``root_path``.
        """
        return self._resolve_path(self._path_to_route(scope))

    def _path_to_route(self, scope: Scope) -> str:
        path: Any
        if "path_remaining" in scope:
            path = scope["path_remaining"]
        else:
            path = scope.get("path")
            if not isinstance(path, str):
                raise NoRouteFound(
                    "the scope has no 'path', cannot route URLs; use URLRouter only for "
                    f"scope types that have a path (got type {scope.get('type')!r})"
                )
            # We are the outermost router: the path is relative to root_path.
            root_path = scope.get("root_path", "")
            if root_path:
                if not path.startswith(root_path):
                    raise NoRouteFound(
                        f"no route found for path {path!r}: it is outside root_path {root_path!r}"
                    )
                path = path[len(root_path) :]
        # Django URLconfs match without the leading slash.
        return str(path).lstrip("/")

    def _resolve_path(
        self, path: str
    ) -> tuple[ASGIApp, str, tuple[Any, ...], dict[str, Any]] | None:
        for route in self._compiled:
            match = route.pattern.match(path)
            if match is None:
                continue
            remaining, args, kwargs = match
            args = tuple(args)
            if route.default_args:
                # As Django and Channels do: the route's extra kwargs override captured values.
                kwargs = {**kwargs, **route.default_args}
            if isinstance(route.application, URLRouter):
                inner = route.application._resolve_path(remaining.lstrip("/"))
                if inner is None:
                    continue
                application, remaining, inner_args, inner_kwargs = inner
                return application, remaining, args + inner_args, {**kwargs, **inner_kwargs}
            return route.application, remaining, args, kwargs
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application of the first route that matches the path.

        Raises:
            NoRouteFound: no route matches.
        """
        resolved = self.resolve(scope)
        if resolved is None:
            path = scope.get("path_remaining", scope.get("path"))
            tried = ", ".join(str(route.pattern) for route in self._compiled) or "none"
            raise NoRouteFound(f"no route found for path {path!r} (routes tried: {tried})")
        application, remaining, args, kwargs = resolved
        outer = scope.get("url_route", {})
        url_route = {
            "args": tuple(outer.get("args", ())) + args,
            "kwargs": {**outer.get("kwargs", {}), **kwargs},
        }
        logger.debug("= path %r routed to %r", scope.get("path"), application)
        return await application(
            dict(scope, path_remaining=remaining, url_route=url_route), receive, send
        )


class ChannelNameRouter(_MappingRouter):
    """Route ``channel`` scopes (from ``runworker``) by ``scope["channel"]``.

    Example::

        application = ProtocolTypeRouter({
            "channel": ChannelNameRouter({"thumbnails-generate": GenerateConsumer}),
        })
    """

    _key_label = "channel name"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application configured for ``scope["channel"]``.

        Raises:
            NoRouteFound: the scope has no channel, or no application is configured for it.
        """
        if "channel" not in scope:
            raise NoRouteFound(
                "ChannelNameRouter got a scope without a 'channel' key; "
                "use it only for 'channel' scopes (the runworker command makes them)"
            )
        return await self._application_for(scope["channel"])(scope, receive, send)


from gateway.ax25.routing import CallsignRouter  # noqa: E402, F401
from gateway.topic_routing import TopicRouter, topic  # noqa: E402, F401
