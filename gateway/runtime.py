"""The shared application runtime: one ASGI application instance per scope.

Theory of operation
-------------------

An adapter turns native traffic (a WebSocket, an MQTT device, a Telegram chat, an AX.25 link)
into scopes and events. For each scope it calls :meth:`ApplicationRuntime.open_scope`, which
starts one asyncio task running ``await application(scope, receive, send)`` and returns a
:class:`ScopeHandle`. The adapter feeds events with :meth:`ScopeHandle.deliver`; the application
takes them with ``receive()``, one at a time, in order.

Each delivered event gets a "handled" future. It resolves when the application calls
``receive()`` again after taking that event (for gateway consumers, whose dispatch is
sequential, that is "the handler returned"), or when the instance returns. Adapters that
acknowledge after processing (MQTT QoS 1/2, the Telegram update offset) await it.

Back-pressure has two bounds: ``queue_size`` events waiting per scope and ``max_in_flight``
events delivered but not yet handled across the whole runtime. ``deliver()`` waits while
either is reached, so a slow consumer slows its adapter instead of growing memory.

Ending a scope:

- the application returns: pending events it never took get :class:`ScopeClosed`;
- the application raises: the error is logged once with the scope, counted, the event being
  handled gets the exception, the queued ones get :class:`ScopeClosed`;
- the runtime closes it (idle timeout, :meth:`ScopeHandle.close`, :meth:`shutdown`): the
  scope's ``close_event`` is queued after the pending events; once the application has taken
  everything and asks for more, or the grace period ends, the instance is cancelled.

In every case the key is freed first, then ``on_close(handle, exc)`` is awaited so the adapter
can close the connection (``exc`` is the application's exception, or None).

Per event the runtime does no logging above DEBUG and creates no task: one future for
"handled", a deque append, and a counter increment. Idle timeouts use one ``call_at`` timer per
scope that is re-armed lazily from the last delivery time, not on every event.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from gateway import metrics
from gateway.exceptions import InvalidState, ScopeClosed
from gateway.types import ASGIApp, Message, Scope, Send
from gateway.waiters import wake_first

__all__ = [
    "DEFAULT",
    "ASGIApp",
    "ApplicationRuntime",
    "Message",
    "OnClose",
    "Scope",
    "ScopeHandle",
    "Send",
    "SendCallable",
    "describe_scope",
]

logger = logging.getLogger(__name__)

SendCallable = Send  # the name this module used before gateway.types
OnClose = Callable[["ScopeHandle", "BaseException | None"], Awaitable[None]]

#: Marker for "use the runtime's default" in keyword arguments where None has a meaning.
DEFAULT: Any = object()


def describe_scope(protocol: str, key: Hashable, scope: Scope) -> str:
    """A short description of a scope for log lines: protocol, key, type and path or topic."""
    where = ""
    for name in ("path", "topic", "channel", "chat_id", "remote"):
        value = scope.get(name)
        if value is not None:
            where = f" {name}={value!r}"
            break
    return f"{protocol} scope {key!r} (type={scope.get('type')!r}{where})"


def _settle(future: asyncio.Future[None] | None, exc: BaseException | None) -> None:
    if future is None or future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
        # The error is logged by the runtime already; adapters that do not await the future
        # must not get a second "exception was never retrieved" report from the event loop.
        future.exception()


class ScopeHandle:
    """One open scope and its application instance; made by :meth:`ApplicationRuntime.open_scope`.

    Attributes:
        key: the adapter's key for this scope (device id, chat id, link addresses...).
        scope: the ASGI scope dict given to the application.
        exception: the exception the application raised, once it has ended that way.
    """

    def __init__(
        self,
        runtime: ApplicationRuntime,
        key: Hashable,
        scope: Scope,
        send: SendCallable,
        on_close: OnClose | None,
        close_event: Message | None,
        idle_timeout: float | None,
    ) -> None:
        self.key = key
        self.scope = scope
        self.exception: BaseException | None = None
        self._runtime = runtime
        self._loop = runtime._loop
        self._send = send
        self._on_close = on_close
        self._close_event = close_event
        self._queue: deque[tuple[Message, asyncio.Future[None] | None]] = deque()
        self._current: asyncio.Future[None] | None = None
        self._current_counted = False
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._closing = False
        self._ended = False
        self._done = self._loop.create_future()
        self._idle_timeout = idle_timeout
        self._last_activity = self._loop.time()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._closer: asyncio.Task[None] | None = None
        self._events_in = runtime._metrics.events_in
        self._events_out = runtime._metrics.events_out
        self._description = describe_scope(runtime.protocol, key, scope)
        if idle_timeout is not None:
            self._idle_timer = self._loop.call_at(
                self._last_activity + idle_timeout, self._on_idle_timer
            )
        self._task = self._loop.create_task(self._run(), name=f"gateway {self._description}")

    def __repr__(self) -> str:
        state = "ended" if self._ended else "closing" if self._closing else "open"
        return f"<ScopeHandle {self._description} {state} queued={len(self._queue)}>"

    @property
    def closed(self) -> bool:
        """True once the scope is closing or its instance has ended: ``deliver()`` would raise."""
        return self._closing or self._ended

    @property
    def queued(self) -> int:
        """Events delivered that the application has not taken yet."""
        return len(self._queue)

    async def deliver(self, message: Message) -> asyncio.Future[None]:
        """Queue an event for the application; wait while the queue or the runtime is full.

        Args:
            message: the ASGI event, e.g. ``{"type": "mqtt.message", ...}``.

        Returns:
            The "handled" future: await it before acknowledging the event to the peer. It
            raises the application's exception if the instance died while handling the event,
            or :class:`ScopeClosed` if the instance ended before taking it.

        Raises:
            ScopeClosed: the scope is closing or its instance has ended (also when that happens
                while waiting for room). Open a new scope for the key and deliver again.
        """
        handled = self.deliver_nowait(message)
        if handled is None:
            await self._wait_for_room()
            handled = self._put(message)
        return handled

    def deliver_nowait(self, message: Message) -> asyncio.Future[None] | None:
        """Queue an event if there is room now, without awaiting (no coroutine per event).

        Returns:
            The "handled" future, as :meth:`deliver` returns it; or None when the scope's queue
            or the runtime is full: nothing was queued, ``await deliver(message)`` instead.

        Raises:
            ScopeClosed: the scope is closing or its instance has ended.
        """
        if self._closing or self._ended:
            raise ScopeClosed(f"{self._description} is closed: open a new scope for this key")
        runtime = self._runtime
        if len(self._queue) >= runtime.queue_size or runtime._in_flight >= runtime.max_in_flight:
            return None
        return self._put(message)

    def _put(self, message: Message) -> asyncio.Future[None]:
        handled: asyncio.Future[None] = self._loop.create_future()
        self._queue.append((message, handled))
        self._runtime._in_flight += 1
        self._last_activity = self._loop.time()
        self._events_in.inc()
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        return handled

    async def _wait_for_room(self) -> None:
        runtime = self._runtime
        while len(self._queue) >= runtime.queue_size or runtime._in_flight >= runtime.max_in_flight:
            if self._closing or self._ended:
                raise ScopeClosed(f"{self._description} closed while the event waited for room")
            waiter: asyncio.Future[None] = self._loop.create_future()
            if len(self._queue) >= runtime.queue_size:
                waiters = self._putters
                if runtime._waiters and runtime._in_flight < runtime.max_in_flight:
                    # We may have been woken for a free in-flight slot we cannot use: pass it on.
                    wake_first(runtime._waiters)
            else:
                waiters = runtime._waiters
            waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                # We were woken for a free slot but are leaving: pass the wake-up on.
                if waiter.done() and not waiter.cancelled():
                    wake_first(waiters)
                raise
        if self._closing or self._ended:
            raise ScopeClosed(f"{self._description} closed while the event waited for room")

    async def receive(self) -> Message:
        """The application's ``receive`` callable: the next event, waiting if there is none."""
        if self._current_counted:
            current, self._current = self._current, None
            _settle(current, None)
            self._release_current()
        while not self._queue:
            if self._closing:
                # The close event (if any) has been taken and handled: the instance had its
                # chance to return, so end it now instead of waiting out the grace period.
                self._task.cancel()
            self._getter = self._loop.create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        message, handled = self._queue.popleft()
        self._current = handled
        self._current_counted = handled is not None
        if self._putters:
            wake_first(self._putters)
        return message

    def _release_current(self) -> None:
        if self._current_counted:
            self._current_counted = False
            self._runtime._release(1)

    async def send(self, message: Message) -> None:
        """The application's ``send`` callable: counts the message and passes it to the adapter."""
        self._events_out.inc()
        await self._send(message)

    async def close(self, reason_event: Message | None = None) -> None:
        """Close the scope: queue the close event, wait the grace period, then cancel.

        Args:
            reason_event: the event to deliver instead of the scope's ``close_event``, e.g.
                ``{"type": "mqtt.disconnect", "reason": "offline"}``.

        Returns once the instance has ended and ``on_close`` has run.
        """
        self._begin_close(reason_event)
        if self._ended:
            await self.wait_closed()
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._done), self._runtime.close_grace)
        except TimeoutError:
            logger.warning(
                "%s did not return within %.1fs of its close event: cancelling it",
                self._description,
                self._runtime.close_grace,
            )
            self._task.cancel()
            await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the instance has ended and ``on_close`` has run."""
        await asyncio.shield(self._done)

    def _begin_close(self, reason_event: Message | None = None) -> None:
        """Stop accepting events and queue the close event; the instance ends once it took it."""
        if self._closing or self._ended:
            return
        self._closing = True
        self._cancel_idle_timer()
        event = reason_event if reason_event is not None else self._close_event
        if event is not None:
            # The close event bypasses the queue bound and counts in no in-flight limit.
            self._queue.append((event, None))
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        for waiter in self._putters:
            if not waiter.done():
                waiter.set_result(None)

    def _on_idle_timer(self) -> None:
        self._idle_timer = None
        if self._closing or self._ended or self._idle_timeout is None:
            return
        now = self._loop.time()
        if self._current_counted or self._queue:
            # Still working on delivered events: a long handler is not idleness.
            self._idle_timer = self._loop.call_at(now + self._idle_timeout, self._on_idle_timer)
            return
        due = self._last_activity + self._idle_timeout
        if now < due:
            self._idle_timer = self._loop.call_at(due, self._on_idle_timer)
            return
        logger.debug("%s idle for %.1fs: closing", self._description, self._idle_timeout)
        self._closer = self._loop.create_task(self.close())

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def _run(self) -> None:
        runtime = self._runtime
        exc: BaseException | None = None
        unfinished: BaseException | None = None
        try:
            await runtime.application(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            # The cancellation ends the instance, not this task: on_close still has to run
            # (and may use asyncio.timeout, which counts pending cancellations).
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            if not self._closing:
                logger.info("%s cancelled", self._description)
            unfinished = ScopeClosed(f"{self._description} was cancelled while handling the event")
        except Exception as error:
            exc = error
            self.exception = error
            runtime._metrics.handler_errors.inc()
            logger.error("application instance for %s raised", self._description, exc_info=error)
        except BaseException:
            # SystemExit / KeyboardInterrupt: clean up, then let them end the program.
            self._end(None, None)
            self._done.set_result(None)
            raise
        self._end(exc, exc or unfinished)
        try:
            if self._on_close is not None:
                await self._on_close(self, exc)
        except Exception:
            logger.exception("on_close callback for %s raised", self._description)
        finally:
            self._done.set_result(None)

    def _end(self, exc: BaseException | None, current_exc: BaseException | None) -> None:
        """Free the key, settle every pending future and wake everyone waiting on this scope.

        ``exc`` is the application's exception; ``current_exc`` what the event being handled
        gets (the same exception, ScopeClosed if the instance was cancelled, or None).
        """
        self._ended = True
        self._closing = True
        self._cancel_idle_timer()
        self._runtime._forget(self)
        current, self._current = self._current, None
        _settle(current, current_exc)
        self._release_current()
        if self._queue:
            not_taken = ScopeClosed(f"{self._description} ended before the event was handled")
            not_taken.__cause__ = exc
            released = 0
            for _message, handled in self._queue:
                if handled is not None:
                    released += 1
                    _settle(handled, not_taken)
            self._queue.clear()
            self._runtime._release(released)
        for waiter in self._putters:
            if not waiter.done():
                waiter.set_result(None)
        self._putters.clear()


class ApplicationRuntime:
    """Runs ASGI application instances, one per scope, for one adapter.

    Args:
        application: the ASGI application (``settings.ASGI_APPLICATION``).
        protocol: label for logs and metrics ("http", "mqtt", "telegram", "ax25", "channel").
        queue_size: events waiting per scope before ``deliver()`` waits.
        max_in_flight: events delivered but not yet handled, over all scopes, before
            ``deliver()`` waits.
        idle_timeout: seconds without a delivery before a scope is closed; None: never.
        shutdown_timeout: how long :meth:`shutdown` waits for instances before cancelling them.
        close_grace: how long :meth:`ScopeHandle.close` waits after the close event.
    """

    def __init__(
        self,
        application: ASGIApp,
        protocol: str,
        *,
        queue_size: int = 100,
        max_in_flight: int = 1000,
        idle_timeout: float | None = None,
        shutdown_timeout: float = 25.0,
        close_grace: float = 5.0,
    ) -> None:
        if queue_size < 1 or max_in_flight < 1:
            raise ValueError(
                f"queue_size and max_in_flight must be at least 1, got {queue_size} and "
                f"{max_in_flight}"
            )
        self.application = application
        self.protocol = protocol
        self.queue_size = queue_size
        self.max_in_flight = max_in_flight
        self.idle_timeout = idle_timeout
        self.shutdown_timeout = shutdown_timeout
        self.close_grace = close_grace
        self._loop = asyncio.get_running_loop()
        self._scopes: dict[Hashable, ScopeHandle] = {}
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._metrics = metrics.for_protocol(protocol)

    @property
    def open_scopes(self) -> int:
        """Scopes whose application instance is alive."""
        return len(self._scopes)

    @property
    def in_flight(self) -> int:
        """Events delivered and not yet handled, over all scopes."""
        return self._in_flight

    def get(self, key: Hashable) -> ScopeHandle | None:
        """The open scope for ``key``, or None if there is none (or its instance has ended)."""
        return self._scopes.get(key)

    async def open_scope(
        self,
        key: Hashable,
        scope: Scope,
        send: SendCallable,
        *,
        on_close: OnClose | None = None,
        close_event: Message | None = None,
        idle_timeout: float | None = DEFAULT,
    ) -> ScopeHandle:
        """Start an application instance for a new scope.

        Args:
            key: adapter-chosen hashable key, unique among open scopes.
            scope: the ASGI scope dict.
            send: where the application's messages go.
            on_close: awaited as ``on_close(handle, exc)`` when the instance has ended;
                ``exc`` is the application's exception or None. Close the connection there.
            close_event: the event delivered when the runtime closes the scope (idle timeout,
                shutdown); None: the instance is cancelled once it has taken its pending events.
            idle_timeout: overrides the runtime's idle timeout for this scope (None: never).

        Returns:
            The handle: call ``deliver()`` on it.

        Raises:
            InvalidState: the runtime is shutting down, or ``key`` already has an open scope
                (use :meth:`get` first).
        """
        if self._shutting_down:
            raise InvalidState(f"the {self.protocol} runtime is shutting down: open no new scopes")
        if key in self._scopes:
            raise InvalidState(
                f"a {self.protocol} scope is already open for key {key!r}: use runtime.get(key)"
            )
        if idle_timeout is DEFAULT:
            idle_timeout = self.idle_timeout
        handle = ScopeHandle(self, key, scope, send, on_close, close_event, idle_timeout)
        self._scopes[key] = handle
        self._metrics.scopes_open.inc()
        logger.debug("opened %r", handle)
        return handle

    async def shutdown(self) -> None:
        """Close every scope: close events first, then wait up to ``shutdown_timeout``, then cancel.

        Opens no new scopes afterwards. Returns when every instance has ended and its
        ``on_close`` has run.
        """
        self._shutting_down = True
        handles = list(self._scopes.values())
        if not handles:
            return
        logger.info("closing %d %s scope(s)", len(handles), self.protocol)
        for handle in handles:
            handle._begin_close()
        waiting = [handle._done for handle in handles]
        _done, pending = await asyncio.wait(waiting, timeout=self.shutdown_timeout)
        if pending:
            late = [handle for handle in handles if not handle._ended]
            logger.warning(
                "%d %s scope(s) still running after %.1fs: cancelling them",
                len(late),
                self.protocol,
                self.shutdown_timeout,
            )
            for handle in late:
                handle._task.cancel()
            await asyncio.wait(waiting)

    def _forget(self, handle: ScopeHandle) -> None:
        if self._scopes.get(handle.key) is handle:
            del self._scopes[handle.key]
            self._metrics.scopes_open.dec()

    def _release(self, count: int) -> None:
        if count:
            self._in_flight -= count
            for _ in range(count):
                if not self._waiters:
                    break
                wake_first(self._waiters)
