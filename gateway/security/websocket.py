"""Origin checks for WebSocket connections, as in Django Channels 4.

Browsers send an ``Origin`` header with every WebSocket handshake but, unlike for HTTP forms,
nothing stops a page on another site from opening a socket to ours with the user's cookies.
Wrap the websocket application in ``AllowedHostsOriginValidator`` (or ``OriginValidator``)
so that handshakes from other origins are denied before the application sees them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import ParseResult, urlparse

from django.conf import settings
from django.utils.http import is_same_domain

from gateway.applications import as_application
from gateway.exceptions import ConfigurationError
from gateway.types import ASGIApp, Receive, Scope, Send

__all__ = ["AllowedHostsOriginValidator", "OriginValidator", "WebsocketDenier"]

logger = logging.getLogger(__name__)

#: Ports implied by a scheme when the origin or the pattern names none.
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

#: What DEBUG allows when ALLOWED_HOSTS is empty (Django's own rule since 3.1).
_DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]


class WebsocketDenier:
    """An ASGI application that refuses every WebSocket connection.

    It answers ``websocket.connect`` with ``websocket.close`` before any accept, which the
    server turns into an HTTP 403 response to the handshake, then waits for the disconnect.
    """

    @classmethod
    def as_asgi(cls) -> WebsocketDenier:
        """Return an instance: Channels' WebsocketDenier is a consumer, so routes written for
        it say ``WebsocketDenier.as_asgi()``; ours keeps no state, one instance serves all."""
        return cls()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Deny the connection and return once the client is gone."""
        while True:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close"})
            elif message["type"] == "websocket.disconnect":
                return


class OriginValidator:
    """Let a WebSocket connection through only if its ``Origin`` header is allowed.

    Patterns, in ``allowed_origins``:

    * ``"*"`` allows any origin, and a missing ``Origin`` header too;
    * ``"example.com"`` allows that host with any scheme and port; a leading dot,
      ``".example.com"``, allows the domain and all its subdomains (Django's ALLOWED_HOSTS rule);
      ``"example.com:9000"`` allows that host on that port only, with any scheme;
    * ``"https://example.com"`` or ``"http://.example.com:8000"`` also require that scheme and
      port (the scheme's default port when none is written: 80 for http/ws, 443 for https/wss).

    A connection without an ``Origin`` header is denied unless ``"*"`` is allowed.
    """

    def __init__(self, application: Any, allowed_origins: Iterable[str]) -> None:
        """Wrap ``application`` (an ASGI application or consumer class).

        Args:
            application: what runs for allowed connections.
            allowed_origins: the patterns described above.
        """
        self.application: ASGIApp = as_application(application)
        self.allowed_origins = list(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the application, or WebsocketDenier when the origin is not allowed.

        Raises:
            ConfigurationError: the scope is not a websocket scope.
        """
        if scope.get("type") != "websocket":
            raise ConfigurationError(
                f"OriginValidator got a {scope.get('type')!r} scope; wrap only the "
                "'websocket' application of ProtocolTypeRouter with it"
            )
        parsed_origin = self._origin_of(scope)
        if self.valid_origin(parsed_origin):
            return await self.application(scope, receive, send)
        logger.info(
            "= websocket %r denied: origin %r is not allowed",
            scope.get("path"),
            parsed_origin.geturl() if parsed_origin else None,
        )
        return await WebsocketDenier()(scope, receive, send)

    @staticmethod
    def _origin_of(scope: Scope) -> ParseResult | None:
        parsed = None
        for name, value in scope.get("headers", []):
            if name.lower() == b"origin":
                try:
                    parsed = urlparse(value.decode("latin-1").lower())
                    # Reading the port validates it: raises ValueError when it is no number.
                    _ = parsed.port
                except ValueError:
                    # An unparsable origin (bad IPv6 literal, bad port) is as good as none.
                    parsed = None
        return parsed

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        """True if the parsed ``Origin`` (None: no header) is allowed."""
        if parsed_origin is None and "*" not in self.allowed_origins:
            return False
        return self.validate_origin(parsed_origin)

    def validate_origin(self, parsed_origin: ParseResult | None) -> bool:
        """True if any allowed pattern is ``"*"`` or matches the origin."""
        return any(
            pattern == "*" or self.match_allowed_origin(parsed_origin, pattern)
            for pattern in self.allowed_origins
        )

    def match_allowed_origin(self, parsed_origin: ParseResult | None, pattern: str) -> bool:
        """True if the origin matches one pattern (see the class docstring for the forms)."""
        if parsed_origin is None:
            return False
        origin_host = parsed_origin.hostname
        if origin_host is None:
            return False
        pattern = pattern.lower()
        try:
            if "://" not in pattern:
                # A host pattern, as in ALLOWED_HOSTS: any scheme; a port only if written.
                pattern_parsed = urlparse("//" + pattern)
                port_matches = pattern_parsed.port is None or (
                    pattern_parsed.port == self.get_origin_port(parsed_origin)
                )
                return port_matches and is_same_domain(origin_host, pattern_parsed.hostname or "")
            pattern_parsed = urlparse(pattern)
            return (
                pattern_parsed.scheme == parsed_origin.scheme
                and self.get_origin_port(parsed_origin) == self.get_origin_port(pattern_parsed)
                and is_same_domain(origin_host, pattern_parsed.hostname or "")
            )
        except ValueError:
            # A pattern with a port that is not a number matches nothing.
            logger.warning("origin pattern %r has an invalid port; fix allowed_origins", pattern)
            return False

    @staticmethod
    def get_origin_port(origin: ParseResult) -> int | None:
        """The explicit port, else the scheme's default port, else None."""
        if origin.port is not None:
            return origin.port
        return _DEFAULT_PORTS.get(origin.scheme)


def AllowedHostsOriginValidator(application: Any) -> OriginValidator:
    """An OriginValidator allowing ``settings.ALLOWED_HOSTS``.

    With ``DEBUG`` on and ``ALLOWED_HOSTS`` empty, localhost forms are allowed, as Django does
    for the Host header: ``.localhost``, ``127.0.0.1`` and ``[::1]``.
    """
    allowed_hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = list(_DEBUG_HOSTS)
    return OriginValidator(application, allowed_hosts)
