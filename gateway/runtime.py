"""The shared application runtime: one ASGI application instance per scope.

Theory of operation
-------------------

An adapter turns native traffic (a WebSocket, an MQTT device, a Telegram chat, an AX.25 link)
into scopes and events. The simplest way in is by key::

    handled = runtime.deliver_by_key(key, event, opener)   # sync; opener() -> ScopeSpec

which opens the key's scope when there is none, keeps the key's events in order, and gives
events an ended instance never took to a new one (see :mod:`gateway.delivery`). Underneath,
:meth:`ApplicationRuntime.open_scope` starts one asyncio task running
``await application(scope, receive, send)`` and returns a :class:`ScopeHandle`;
:meth:`ScopeHandle.deliver` feeds it events, which the application takes with ``receive()``,
one at a time, in order.

Each delivered event gets a "handled" future. It resolves when the application calls
``receive()`` again after taking that event (for gateway consumers, whose dispatch is
sequential, that is "the handler returned"), or when the instance returns. Adapters that
acknowledge after processing (MQTT QoS 1/2, the Telegram update offset) await it, or hand it
to :class:`gateway.acks.OrderedAcks`.

Back-pressure is per scope, so a slow handler for one scope never delays another: a scope
takes at most ``queue_size`` waiting events, and ``deliver()`` for *that* scope waits while
they are there. ``max_in_flight`` bounds memory across scopes without letting one scope stall
the others: once that many events are delivered and not yet handled over the whole runtime,
each scope may still hold its fair share (``max_in_flight // open scopes``, at least 1), so
only the scopes holding more than their share wait, and they wait for their own events.

Ending a scope:

- the application returns: pending events it never took get :class:`ScopeClosed` (or, if
  they came by key, go back to the key's backlog for a new instance);
- the application raises: the error is logged once with the scope, counted, the event being
  handled gets the exception, the queued ones are treated as above;
- the runtime closes it (idle timeout, :meth:`ScopeHandle.close`, :meth:`shutdown`): the
  scope's ``close_event`` is queued after the pending events; once the application has taken
  everything and asks for more, or the grace period ends, the instance is cancelled.

In every case the key is freed first, then ``on_close(handle, exc)`` is awaited so the adapter
can close the connection (``exc`` is the application's exception, or None).

Time comes from a :class:`~gateway.clock.Clock` (the loop's by default; tests pass a
:class:`~gateway.clock.FakeClock`): idle timers, the close grace and the shutdown deadline.

Per event the runtime does no logging above DEBUG and creates no task: one future for
"handled", a deque append, and a counter increment. Idle timeouts use one timer per scope that
is re-armed lazily from the last delivery time, not on every event.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Hashable

from gateway import metrics
from gateway.clock import Clock, LoopClock, TimerHandleLike, wait_until
from gateway.delivery import (
    DEFAULT,
    Entry,
    KeyedDelivery,
    OnClose,
    Opener,
    ScopeSpec,
    settle,
)
from gateway.exceptions import InvalidState, ScopeClosed
from gateway.types import ASGIApp, Message, Scope, Send
from gateway.waiters import park, wake_all, wake_first

__all__ = [
    "DEFAULT",
    "ASGIApp",
    "ApplicationRuntime",
    "Message",
    "OnClose",
    "Opener",
    "Scope",
    "ScopeHandle",
    "ScopeSpec",
    "Send",
    "SendCallable",
    "describe_scope",
]

logger = logging.getLogger(__name__)

SendCallable = Send  # the name this module used before gateway.types


def describe_scope(protocol: str, key: Hashable, scope: Scope) -> str:
    """A short description of a scope for log lines: protocol, key, type and path or topic."""
    where = ""
    for name in ("path", "topic", "channel", "chat_id", "remote"):
        value = scope.get(name)
        if value is not None:
            where = f" {name}={value!r}"
            break
    return f"{protocol} scope {key!r} (type={scope.get('type')!r}{where})"


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
        send: Send,
        on_close: OnClose | None,
        close_event: Message | None,
        idle_timeout: float | None,
    ) -> None:
        self.key = key
        self.scope = scope
        self.exception: BaseException | None = None
        self._runtime = runtime
        self._loop = runtime._loop
        self._clock = runtime.clock
        self._time = runtime._time
        self._send = send
        self._on_close = on_close
        self._close_event = close_event
        # (event, handled future or None for the close event, attempts: -1 unless by key)
        self._queue: deque[tuple[Message, asyncio.Future[None] | None, int]] = deque()
        self._current: asyncio.Future[None] | None = None
        self._current_counted = False
        self._in_flight = 0
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._closing = False
        self._ended = False
        self._done = self._loop.create_future()
        self._idle_timeout = idle_timeout
        self._last_activity = self._time()
        self._idle_timer: TimerHandleLike | None = None
        self._closer: asyncio.Task[None] | None = None
        self._opener: Opener | None = None
        self._events_in = runtime._metrics.events_in
        self._events_out = runtime._metrics.events_out
        self._description = describe_scope(runtime.protocol, key, scope)
        if idle_timeout is not None:
            self._idle_timer = self._clock.call_at(
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

    @property
    def in_flight(self) -> int:
        """Events delivered to this scope and not yet handled (queued or being handled)."""
        return self._in_flight

    async def deliver(self, message: Message) -> asyncio.Future[None]:
        """Queue an event for the application; wait while this scope is full.

        Args:
            message: the ASGI event, e.g. ``{"type": "mqtt.message", ...}``.

        Returns:
            The "handled" future: await it before acknowledging the event to the peer. It
            raises the application's exception if the instance died while handling the event,
            or :class:`ScopeClosed` if the instance ended before taking it.

        Raises:
            ScopeClosed: the scope is closing or its instance has ended (also when that happens
                while waiting for room). Open a new scope for the key and deliver again, or
                use :meth:`ApplicationRuntime.deliver_by_key`, which does that for you.
        """
        handled = self.deliver_nowait(message)
        if handled is None:
            await self._wait_for_room()
            handled = self._put(message, None, -1)
        return handled

    def deliver_nowait(self, message: Message) -> asyncio.Future[None] | None:
        """Queue an event if there is room now, without awaiting (no coroutine per event).

        Returns:
            The "handled" future, as :meth:`deliver` returns it; or None when this scope is
            full: nothing was queued, ``await deliver(message)`` instead.

        Raises:
            ScopeClosed: the scope is closing or its instance has ended.
        """
        if self._closing:
            raise ScopeClosed(f"{self._description} is closed: open a new scope for this key")
        runtime = self._runtime
        if len(self._queue) >= runtime.queue_size or (
            runtime._in_flight >= runtime.max_in_flight and self._in_flight >= runtime._share()
        ):
            return None
        return self._put(message, None, -1)

    def _has_room(self) -> bool:
        runtime = self._runtime
        return len(self._queue) < runtime.queue_size and (
            runtime._in_flight < runtime.max_in_flight or self._in_flight < runtime._share()
        )

    def _put(
        self, message: Message, handled: asyncio.Future[None] | None, attempts: int
    ) -> asyncio.Future[None]:
        if handled is None:
            handled = self._loop.create_future()
        self._queue.append((message, handled, attempts))
        self._in_flight += 1
        self._runtime._in_flight += 1
        self._last_activity = self._time()
        self._events_in.inc()
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        return handled

    async def _wait_for_room(self) -> None:
        """Wait until this scope has room; only this scope's own progress wakes it."""
        while not self._has_room():
            if self._closing:
                raise ScopeClosed(f"{self._description} closed while the event waited for room")
            await park(self._putters, self._loop)
        if self._closing:
            raise ScopeClosed(f"{self._description} closed while the event waited for room")

    async def receive(self) -> Message:
        """The application's ``receive`` callable: the next event, waiting if there is none."""
        if self._current_counted:
            current, self._current = self._current, None
            settle(current, None)
            self._release_current()
            if self._putters:
                wake_first(self._putters)
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
        message, handled, _attempts = self._queue.popleft()
        self._current = handled
        self._current_counted = handled is not None
        if self._putters:
            wake_first(self._putters)
        return message

    def _release_current(self) -> None:
        if self._current_counted:
            self._current_counted = False
            self._in_flight -= 1
            self._runtime._in_flight -= 1

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
        if not self._ended:
            grace = self._runtime.close_grace
            if await wait_until(self._clock, [self._done], self._time() + grace):
                logger.warning(
                    "%s did not return within %.1fs of its close event: cancelling it",
                    self._description,
                    grace,
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
            self._queue.append((event, None, -1))
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        wake_all(self._putters)

    def _on_idle_timer(self) -> None:
        self._idle_timer = None
        if self._closing or self._ended or self._idle_timeout is None:
            return
        now = self._time()
        if self._current_counted or self._queue:
            # Still working on delivered events: a long handler is not idleness.
            self._idle_timer = self._clock.call_at(now + self._idle_timeout, self._on_idle_timer)
            return
        due = self._last_activity + self._idle_timeout
        if now < due:
            self._idle_timer = self._clock.call_at(due, self._on_idle_timer)
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
            runtime._ending.pop(self.key, None)
            self._done.set_result(None)
            raise
        self._end(exc, exc or unfinished)
        try:
            if self._on_close is not None:
                await self._on_close(self, exc)
        except Exception:
            logger.exception("on_close callback for %s raised", self._description)
        finally:
            if runtime._ending.get(self.key) is self:
                del runtime._ending[self.key]
            self._done.set_result(None)

    def _end(self, exc: BaseException | None, current_exc: BaseException | None) -> None:
        """Free the key, settle every pending future and wake everyone waiting on this scope.

        ``exc`` is the application's exception; ``current_exc`` what the event being handled
        gets (the same exception, ScopeClosed if the instance was cancelled, or None). Events
        never taken that came by key go back to the key's lane for a new instance.
        """
        self._ended = True
        self._closing = True
        self._cancel_idle_timer()
        runtime = self._runtime
        runtime._forget(self)
        current, self._current = self._current, None
        settle(current, current_exc)
        self._release_current()
        if self._queue:
            not_taken = ScopeClosed(f"{self._description} ended before the event was handled")
            not_taken.__cause__ = exc
            again: list[Entry] = []
            for message, handled, attempts in self._queue:
                if handled is None:
                    continue
                self._in_flight -= 1
                runtime._in_flight -= 1
                if attempts >= 0 and not handled.done():
                    again.append((message, handled, attempts + 1))
                else:
                    settle(handled, not_taken)
            self._queue.clear()
            if again:
                runtime._keyed.requeue(self.key, again, self._opener)
        wake_all(self._putters)


class ApplicationRuntime:
    """Runs ASGI application instances, one per scope, for one adapter.

    Args:
        application: the ASGI application (``settings.ASGI_APPLICATION``).
        protocol: label for logs and metrics ("http", "mqtt", "telegram", "ax25", "channel").
        queue_size: events waiting per scope before ``deliver()`` for that scope waits; also
            the bound of a key's backlog for :meth:`deliver_by_key_wait`.
        max_in_flight: a memory bound over all scopes: once this many events are delivered
            and not yet handled, a scope holding more than its fair share
            (``max_in_flight // open scopes``, at least 1) waits for its own events; the
            others go on.
        idle_timeout: seconds without a delivery before a scope is closed; None: never.
        shutdown_timeout: how long :meth:`shutdown` waits for instances before cancelling them.
        close_grace: how long :meth:`ScopeHandle.close` waits after the close event.
        clock: the clock of the idle timers, the close grace and the shutdown deadline;
            None: the running loop's.
        max_attempts: how many instances an event delivered by key may be given to before its
            future fails with :class:`ScopeClosed` (each one ended before taking it).

    Raises:
        ValueError: a bound is less than 1.
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
        clock: Clock | None = None,
        max_attempts: int = 3,
    ) -> None:
        if queue_size < 1 or max_in_flight < 1 or max_attempts < 1:
            raise ValueError(
                f"queue_size, max_in_flight and max_attempts must be at least 1, got "
                f"{queue_size}, {max_in_flight} and {max_attempts}"
            )
        self.application = application
        self.protocol = protocol
        self.queue_size = queue_size
        self.max_in_flight = max_in_flight
        self.max_attempts = max_attempts
        self.idle_timeout = idle_timeout
        self.shutdown_timeout = shutdown_timeout
        self.close_grace = close_grace
        self._loop = asyncio.get_running_loop()
        self.clock: Clock = clock if clock is not None else LoopClock(self._loop)
        # The loop's own time() when the clock is the loop's: one call less per event.
        self._time = self._loop.time if clock is None else self.clock.time
        self._scopes: dict[Hashable, ScopeHandle] = {}
        # Instances that ended and whose on_close has not finished yet, by key.
        self._ending: dict[Hashable, ScopeHandle] = {}
        self._in_flight = 0
        self._shutting_down = False
        self._metrics = metrics.for_protocol(protocol)
        self._keyed = KeyedDelivery(self)
        self._lanes = self._keyed.lanes

    @property
    def open_scopes(self) -> int:
        """Scopes whose application instance is alive."""
        return len(self._scopes)

    @property
    def in_flight(self) -> int:
        """Events delivered and not yet handled, over all scopes."""
        return self._in_flight

    def _share(self) -> int:
        # A scope's fair share of max_in_flight; only read once the bound is reached.
        return max(1, self.max_in_flight // max(1, len(self._scopes)))

    def get(self, key: Hashable) -> ScopeHandle | None:
        """The open scope for ``key``, or None if there is none (or its instance has ended)."""
        return self._scopes.get(key)

    def deliver_by_key(self, key: Hashable, event: Message, opener: Opener) -> asyncio.Future[None]:
        """Deliver ``event`` to the scope for ``key``, opening it with ``opener()`` if needed.

        Synchronous and never blocking: call it from a paho or serial callback running on the
        event loop's thread, or from async code (from another thread, go through
        ``loop.call_soon_threadsafe``). Events of one key are delivered in the order of
        these calls. An instance that ends before taking some of them is replaced and they
        are given to the new one (at most ``max_attempts`` instances per event).

        Args:
            key: the adapter's key (device, chat id, link addresses).
            event: the ASGI event.
            opener: returns the :class:`ScopeSpec` to open the scope with; called only when
                the key has no open scope.

        Returns:
            The "handled" future (see :meth:`ScopeHandle.deliver`); it fails with
            :class:`ScopeClosed` when no instance took the event (logged and counted in
            ``gateway_events_dropped_total``), or with the opener's exception if the scope
            could not be opened. Nobody has to await it.
        """
        if key not in self._lanes:
            handle = self._scopes.get(key)
            if (
                handle is not None
                and not handle._closing
                and len(handle._queue) < self.queue_size
                and (self._in_flight < self.max_in_flight or handle._in_flight < self._share())
            ):
                handle._opener = opener
                return handle._put(event, None, 0)
        return self._keyed.enqueue(key, event, opener)

    async def deliver_by_key_wait(
        self, key: Hashable, event: Message, opener: Opener
    ) -> asyncio.Future[None]:
        """:meth:`deliver_by_key`, after waiting while this key's backlog holds ``queue_size``.

        The wait is back-pressure on this key's source only: other keys are not slowed.

        Returns:
            The "handled" future (not awaited here).
        """
        if key in self._lanes:
            await self._keyed.wait_for_room(key)
        return self.deliver_by_key(key, event, opener)

    def backlog(self, key: Hashable) -> int:
        """Events for ``key`` that its application instance has not taken yet."""
        handle = self._scopes.get(key)
        return self._keyed.backlog(key) + (handle.queued if handle is not None else 0)

    async def open_scope(
        self,
        key: Hashable,
        scope: Scope,
        send: Send,
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

        Opens no new scopes afterwards; events still waiting in a key's backlog get
        :class:`ScopeClosed`. Returns when every instance has ended and its ``on_close`` has
        run.
        """
        self._shutting_down = True
        handles = list(self._scopes.values())
        if handles:
            logger.info("closing %d %s scope(s)", len(handles), self.protocol)
            for handle in handles:
                handle._begin_close()
            waiting = [handle._done for handle in handles]
            deadline = self._time() + self.shutdown_timeout
            if await wait_until(self.clock, waiting, deadline):
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
        await self._keyed.close()

    def _forget(self, handle: ScopeHandle) -> None:
        if self._scopes.get(handle.key) is handle:
            del self._scopes[handle.key]
            self._ending[handle.key] = handle
            self._metrics.scopes_open.dec()
