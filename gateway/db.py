"""Run synchronous Django ORM code from async code without leaking database connections.

Django keeps one connection per thread and closes stale ones at the start and end of each HTTP
request. Consumers have no such request cycle, so :func:`database_sync_to_async` does the same
clean-up around every call it runs in the worker thread, as Channels' version does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from asgiref.sync import SyncToAsync, sync_to_async
from django.db import close_old_connections

#: True in the context of an application that a test communicator runs (gateway.testing): the
#: clean-ups are skipped there. In a Django ``TestCase`` the ORM calls run on the test's own
#: connection, which holds the test's transaction; closing it would break the test (Channels'
#: communicators patch the clean-up out for the same reason). A context variable, so only the
#: communicator's application is affected, not other code running meanwhile.
keep_connections: ContextVar[bool] = ContextVar("gateway_keep_connections", default=False)


def _with_cleanup(func: Callable[..., Any]) -> Callable[..., Any]:
    # Runs inside the caller's copied context (asgiref runs the function there), so it sees
    # keep_connections as the calling task set it.
    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if keep_connections.get():
            return func(*args, **kwargs)
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return run


class DatabaseSyncToAsync(SyncToAsync):  # type: ignore[type-arg]
    """``SyncToAsync`` that closes old database connections before and after the call.

    Use it like ``sync_to_async``, as a decorator or a wrapper::

        @database_sync_to_async
        def get_name(pk):
            return User.objects.get(pk=pk).username

        name = await get_name(42)

    Connections that went past ``CONN_MAX_AGE`` or became unusable are closed; healthy,
    persistent ones are kept. Not under a test communicator: see :data:`keep_connections`.
    """

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(func, *args, **kwargs)
        self.func = _with_cleanup(func)


# The class is TitleCased, but it is meant to be used as a decorator or a function.
database_sync_to_async = DatabaseSyncToAsync


async def aclose_old_connections() -> None:
    """Close this thread's stale database connections, from async code (Channels 4.2+).

    Runs Django's ``close_old_connections`` in the thread that ``sync_to_async`` and
    :func:`database_sync_to_async` use for ORM calls, where the connections live. Call it
    where a long-lived async consumer starts a unit of work, as Django does per request.
    """
    await sync_to_async(close_old_connections)()
