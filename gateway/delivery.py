"""Delivery by key: events for a key reach that key's scope in order, opened when needed.

Adapters know keys (a device, a chat, a radio link), not scope handles. They call
:meth:`ApplicationRuntime.deliver_by_key(key, event, opener)
<gateway.runtime.ApplicationRuntime.deliver_by_key>`, synchronously, from a paho or serial
callback or from async code, and get the "handled" future back at once.

Most events take the fast path in the runtime: the key's scope is open and has room, so the
event goes straight into its queue (no task, no extra future). Otherwise the event joins the
key's :class:`Lane`, a backlog in arrival order, and one pump task per lane with a backlog
moves it into the scope as room appears: it opens the scope with ``opener()`` when there is
none (after the previous instance for that key has fully ended and its ``on_close`` has run),
waits while the scope is full, and ends when the backlog is empty. A lane exists only while
it has a backlog, so while it does every new event for the key queues behind it: per-key order
holds whatever path an event takes.

When an instance ends before taking events given to it by key (it returned, raised, or was
closed for being idle), the runtime gives those events back to the front of the lane, and the
pump delivers them to a new instance. Each event may reach at most ``max_attempts``
instances; after that its future fails with :class:`~gateway.exceptions.ScopeClosed`, which
is logged and counted in ``gateway_events_dropped_total{protocol,reason="scope_closed"}``.
The event a handler was running when it raised gets that exception (it was processed, badly),
and nothing is redelivered once the runtime shuts down.

Back-pressure stays per key: :meth:`ApplicationRuntime.deliver_by_key_wait` waits while *this
key's* lane holds ``queue_size`` events, so a slow scope pauses only the source feeding it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway import metrics
from gateway.exceptions import ScopeClosed
from gateway.types import Message, Scope, Send
from gateway.waiters import park, wake_all, wake_first

if TYPE_CHECKING:
    from gateway.runtime import ApplicationRuntime, ScopeHandle

logger = logging.getLogger(__name__)

#: Marker for "use the runtime's default" in keyword arguments where None has a meaning.
DEFAULT: Any = object()

#: ``await on_close(handle, exc)`` once an instance has ended (``exc``: what it raised).
OnClose = Callable[["ScopeHandle", "BaseException | None"], Awaitable[None]]

#: An event, its "handled" future, and how many instances it has been given to before.
Entry = tuple[Message, "asyncio.Future[None]", int]


@dataclass
class ScopeSpec:
    """How to open the scope for a key: what :meth:`ApplicationRuntime.open_scope` takes.

    Returned by the ``opener`` given to ``deliver_by_key``; called only when the key has no
    open scope.

    Attributes:
        scope: the ASGI scope dict.
        send: where the application's messages go.
        on_close: awaited as ``on_close(handle, exc)`` when the instance has ended.
        close_event: delivered when the runtime closes the scope (idle, shutdown).
        idle_timeout: overrides the runtime's idle timeout (None: never).
        initial_events: delivered first, before the backlog (e.g. ``mqtt.connect``).
    """

    scope: Scope
    send: Send
    on_close: OnClose | None = None
    close_event: Message | None = None
    idle_timeout: float | None = DEFAULT
    initial_events: Sequence[Message] = ()


#: Returns the :class:`ScopeSpec` for a key that has no open scope.
Opener = Callable[[], ScopeSpec]


def settle(future: asyncio.Future[None] | None, exc: BaseException | None) -> None:
    """Resolve a "handled" future with None or ``exc``, unless it is done already."""
    if future is None or future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
        # The error is logged by the runtime already; adapters that do not await the future
        # must not get a second "exception was never retrieved" report from the event loop.
        future.exception()


class Lane:
    """The backlog of one key, while it has one."""

    __slots__ = ("backlog", "key", "opener", "pump", "putters")

    def __init__(self, key: Hashable, opener: Opener) -> None:
        self.key = key
        self.opener = opener
        self.backlog: deque[Entry] = deque()
        self.pump: asyncio.Task[None] | None = None
        self.putters: deque[asyncio.Future[None]] = deque()

    def __repr__(self) -> str:
        return f"<Lane {self.key!r} backlog={len(self.backlog)}>"


class KeyedDelivery:
    """The lanes of one runtime and their pumps (the slow path of ``deliver_by_key``)."""

    def __init__(self, runtime: ApplicationRuntime) -> None:
        self.runtime = runtime
        self.lanes: dict[Hashable, Lane] = {}
        self._dropped = metrics.events_dropped(runtime.protocol, "scope_closed")
        self._open_failed = metrics.events_dropped(runtime.protocol, "open_failed")

    def enqueue(self, key: Hashable, event: Message, opener: Opener) -> asyncio.Future[None]:
        """Queue ``event`` behind the key's backlog and make sure a pump runs for it."""
        handled: asyncio.Future[None] = self.runtime._loop.create_future()
        lane = self._lane(key, opener)
        lane.opener = opener
        lane.backlog.append((event, handled, 0))
        return handled

    def requeue(self, key: Hashable, entries: list[Entry], opener: Opener | None) -> None:
        """Give back events an ended instance never took, in order, ahead of the backlog."""
        runtime = self.runtime
        keep: list[Entry] = []
        for entry in entries:
            event, handled, attempts = entry
            if opener is None or runtime._shutting_down or attempts >= runtime.max_attempts:
                self._give_up(key, event, handled, attempts, opener is None)
            else:
                keep.append(entry)
        if keep:
            assert opener is not None
            lane = self._lane(key, opener)
            lane.backlog.extendleft(reversed(keep))

    def _give_up(
        self,
        key: Hashable,
        event: Message,
        handled: asyncio.Future[None],
        attempts: int,
        no_opener: bool,
    ) -> None:
        runtime = self.runtime
        if runtime._shutting_down:
            # Expected at shutdown: the adapter does not acknowledge it, the peer resends.
            why = "the runtime is shutting down"
            logger.debug(
                "%s scope %r: a %r event not handled: %s",
                runtime.protocol,
                key,
                event.get("type"),
                why,
            )
        else:
            if no_opener:
                why = "its scope was not opened by deliver_by_key, so it cannot be reopened"
            else:
                why = f"{attempts} instance(s) ended before taking it"
            logger.warning(
                "%s scope %r: dropping a %r event: %s",
                runtime.protocol,
                key,
                event.get("type"),
                why,
            )
            self._dropped.inc()
        settle(handled, ScopeClosed(f"{runtime.protocol} scope {key!r}: {why}"))

    def _lane(self, key: Hashable, opener: Opener) -> Lane:
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = Lane(key, opener)
        if lane.pump is None:
            lane.pump = self.runtime._loop.create_task(
                self._pump(lane), name=f"gateway {self.runtime.protocol} lane {key!r}"
            )
        return lane

    def backlog(self, key: Hashable) -> int:
        """Events waiting in the key's lane (not yet in its scope's queue)."""
        lane = self.lanes.get(key)
        return len(lane.backlog) if lane is not None else 0

    async def wait_for_room(self, key: Hashable) -> None:
        """Wait while the key's lane holds ``queue_size`` events or more."""
        limit = self.runtime.queue_size
        while True:
            lane = self.lanes.get(key)
            if lane is None or len(lane.backlog) < limit:
                return
            await park(lane.putters, self.runtime._loop)

    async def _pump(self, lane: Lane) -> None:
        runtime = self.runtime
        backlog = lane.backlog
        key = lane.key
        try:
            while backlog:
                handle = runtime._scopes.get(key)
                if handle is None:
                    handle = await self._open(lane)
                    continue
                if handle._closing:
                    await handle.wait_closed()
                    continue
                while backlog and handle._has_room():
                    event, handled, attempts = backlog.popleft()
                    if not handled.done():  # the caller may have cancelled it
                        handle._put(event, handled, attempts)
                    if lane.putters:
                        wake_first(lane.putters)
                if backlog:
                    try:
                        await handle._wait_for_room()
                    except ScopeClosed:
                        continue
        except Exception as exc:
            self._fail_backlog(lane, exc)
        finally:
            lane.pump = None
            if backlog:
                if not runtime._shutting_down:
                    # Requeued while we were finishing: start over.
                    self._lane(key, lane.opener)
            elif self.lanes.get(key) is lane:
                del self.lanes[key]
                wake_all(lane.putters)

    async def _open(self, lane: Lane) -> ScopeHandle:
        runtime = self.runtime
        ending = runtime._ending.get(lane.key)
        if ending is not None:
            # The previous instance's on_close may still clean up per-key state: let it.
            await ending.wait_closed()
        spec = lane.opener()
        handle = await runtime.open_scope(
            lane.key,
            spec.scope,
            spec.send,
            on_close=spec.on_close,
            close_event=spec.close_event,
            idle_timeout=spec.idle_timeout,
        )
        handle._opener = lane.opener
        for event in spec.initial_events:
            handle._put(event, None, -1)
        return handle

    def _fail_backlog(self, lane: Lane, exc: Exception) -> None:
        runtime = self.runtime
        if runtime._shutting_down:
            error: BaseException = ScopeClosed(
                f"the {runtime.protocol} runtime is shutting down: scope {lane.key!r} not opened"
            )
            logger.info(
                "%s scope %r: %d event(s) not delivered: shutting down",
                runtime.protocol,
                lane.key,
                len(lane.backlog),
            )
        else:
            error = exc
            logger.error(
                "%s scope %r: cannot open the scope for %d event(s)",
                runtime.protocol,
                lane.key,
                len(lane.backlog),
                exc_info=exc,
            )
        while lane.backlog:
            _event, handled, _attempts = lane.backlog.popleft()
            self._open_failed.inc()
            settle(handled, error)
        wake_all(lane.putters)

    async def close(self) -> None:
        """Fail every backlog (the runtime has shut down) and wait for the pumps to end."""
        pumps = [lane.pump for lane in self.lanes.values() if lane.pump is not None]
        for pump in pumps:
            pump.cancel()
        if pumps:
            await asyncio.wait(pumps)
        for lane in list(self.lanes.values()):
            self._fail_backlog(lane, ScopeClosed("shut down"))
        self.lanes.clear()
