"""ApplicationCommunicator: run one ASGI application instance and talk to it from a test."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from typing import Any, cast

from asgiref.testing import ApplicationCommunicator as BaseApplicationCommunicator

from gateway.applications import as_application
from gateway.consumer import listen_from_start
from gateway.db import keep_connections
from gateway.exceptions import ApplicationCancelled
from gateway.types import Scope


class ApplicationCommunicator(BaseApplicationCommunicator):
    """Run an application for one scope; feed it input and read its output.

    Compared with asgiref's communicator, an exception raised by the application reaches the
    test as soon as it happens: ``receive_output()`` raises it instead of waiting for its
    timeout. A consumer class may be passed instead of ``Consumer.as_asgi()``.

    Example::

        communicator = ApplicationCommunicator(app, {"type": "mqtt", "topic": "a/b"})
        await communicator.send_input({"type": "mqtt.connect"})
        message = await communicator.receive_output()
    """

    # Set before __init__ runs, so that __del__ works even when a constructor refused its
    # arguments before calling ours.
    _future: asyncio.Task[Any] | None = None

    def __init__(self, application: Any, scope: Scope) -> None:
        """Prepare the instance; it starts on the first input or output call.

        Args:
            application: an ASGI application or a consumer class.
            scope: the scope of the connection the test plays.
        """
        super().__init__(as_application(application), scope)  # type: ignore[no-untyped-call]

    @property
    def future(self) -> asyncio.Task[Any]:
        """The application's task, started on first use.

        It runs in an empty context, as asgiref's, with :data:`gateway.db.keep_connections`
        set: ``database_sync_to_async`` then leaves Django's connections open, so a consumer's
        ORM calls in a Django ``TestCase`` keep the test's connection and transaction (as
        Channels' communicators do). :data:`gateway.consumer.listen_from_start` is set too:
        consumers listen on their channel at once, as Channels' do, so tests that find it in
        ``layer.channels`` can send to it.
        """
        if self._future is None:
            context = contextvars.Context()
            context.run(keep_connections.set, True)
            context.run(listen_from_start.set, True)
            self._future = context.run(
                asyncio.create_task,
                self.application(self.scope, self.input_queue.get, self.output_queue.put),
            )
        return self._future

    def _raise_if_failed(self) -> None:
        """Re-raise the application's exception, if it raised one."""
        if self.future.done() and not self.future.cancelled():
            self.future.result()

    async def send_input(self, message: dict[str, Any]) -> None:
        """Give the application a message (what its ``receive()`` returns next).

        Raises:
            ApplicationCancelled: the application was cancelled (a receive timed out, or
                stop()); nobody would read the message. An ``asyncio.CancelledError``, as
                Channels raises there.
            Exception: whatever the application raised, if it already failed.
        """
        if self.future.cancelled():
            raise ApplicationCancelled(
                f"cannot send {message.get('type')!r}: the application was cancelled when a "
                "receive timed out (or by stop()); make the application answer in time, or "
                "pass a longer timeout"
            )
        self._raise_if_failed()
        await self.input_queue.put(message)

    async def receive_output(self, timeout: float = 1) -> dict[str, Any]:
        """Return the next message the application sent.

        Messages sent before the application failed are returned first; then its exception is
        raised, without waiting for the timeout.

        Args:
            timeout: seconds to wait for a message.

        Raises:
            Exception: whatever the application raised.
            TimeoutError: no message within ``timeout`` (the application is then cancelled), or
                the application returned without sending one.
        """
        if not self.output_queue.empty():
            return cast(dict[str, Any], self.output_queue.get_nowait())
        self._raise_if_failed()
        if self.future.done():
            raise TimeoutError("the application returned without sending another message")
        getter = asyncio.ensure_future(self.output_queue.get())
        try:
            await asyncio.wait(
                {getter, self.future}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
        if getter.done() and not getter.cancelled():
            return cast(dict[str, Any], getter.result())
        self._raise_if_failed()
        if self.future.done():
            raise TimeoutError("the application returned without sending another message")
        # Nothing in time: stop the application so it does not outlive the test.
        self.future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.future
        raise TimeoutError(f"the application sent nothing within {timeout} seconds")

    async def receive_nothing(self, timeout: float = 0.1, interval: float = 0.01) -> bool:
        """True if the application sends nothing for ``timeout`` seconds.

        Raises:
            Exception: whatever the application raised meanwhile.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.output_queue.empty():
                return False
            self._raise_if_failed()
            if loop.time() >= deadline:
                return True
            await asyncio.sleep(interval)
