"""Run synchronous Django ORM code from async code without leaking database connections.

Django keeps one connection per thread and closes stale ones at the start and end of each HTTP
request. Consumers have no such request cycle, so :func:`database_sync_to_async` does the same
clean-up around every call it runs in the worker thread, as Channels' version does.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import SyncToAsync, sync_to_async
from django.db import close_old_connections


class DatabaseSyncToAsync(SyncToAsync):  # type: ignore[type-arg]
    """``SyncToAsync`` that closes old database connections before and after the call.

    Use it like ``sync_to_async``, as a decorator or a wrapper::

        @database_sync_to_async
        def get_name(pk):
            return User.objects.get(pk=pk).username

        name = await get_name(42)

    Connections that went past ``CONN_MAX_AGE`` or became unusable are closed; healthy,
    persistent ones are kept.
    """

    def thread_handler(self, *args: Any, **kwargs: Any) -> Any:
        """Run the wrapped function in the worker thread, between two connection clean-ups."""
        close_old_connections()
        try:
            return super().thread_handler(*args, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            close_old_connections()


# The class is TitleCased, but it is meant to be used as a decorator or a function.
database_sync_to_async = DatabaseSyncToAsync


async def aclose_old_connections() -> None:
    """Close this thread's stale database connections, from async code (Channels 4.2+).

    Runs Django's ``close_old_connections`` in the thread that ``sync_to_async`` and
    :func:`database_sync_to_async` use for ORM calls, where the connections live. Call it
    where a long-lived async consumer starts a unit of work, as Django does per request.
    """
    await sync_to_async(close_old_connections)()
