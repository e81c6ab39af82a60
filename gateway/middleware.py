"""The base class of ASGI middleware that only changes the scope, as in Django Channels."""

from __future__ import annotations

from typing import Any

from gateway.applications import as_application
from gateway.types import ASGIApp, Receive, Scope, Send


class BaseMiddleware:
    """Wrap an inner application and give it a copy of the scope.

    Subclass it and override ``__call__`` to add keys to the scope, then call
    ``super().__call__``; the copy keeps your changes from leaking to outer applications::

        class ClientIdMiddleware(BaseMiddleware):
            async def __call__(self, scope, receive, send):
                scope = dict(scope, client_id=lookup(scope))
                return await super().__call__(scope, receive, send)
    """

    def __init__(self, inner: Any) -> None:
        """Wrap ``inner``, an ASGI application or a consumer class."""
        self.inner: ASGIApp = as_application(inner)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        """Run the inner application with a shallow copy of the scope."""
        # Copy so that changes made below us never reach the caller's scope.
        scope = dict(scope)
        return await self.inner(scope, receive, send)
