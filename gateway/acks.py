"""Ordered acknowledgement: completions that finish in any order become an in-order watermark.

Peers acknowledge in arrival order: MQTT sends PUBACK/PUBREC "in the order in which the
corresponding PUBLISH packets were received" (MQTT 3.1.1 and 5, section 4.6); Telegram confirms
every update below an offset. Handlers of different scopes finish in any order, so each item
(packet id, update id) gets a :class:`Ticket` when it arrives, and :class:`OrderedAcks` calls
``release(items)`` with the longest done prefix, in arrival order, whenever it grows::

    acks = OrderedAcks(lambda mids: [link.ack(mid) for mid in mids], name="mqtt")
    handled = runtime.deliver_by_key(key, event, opener)
    acks.track(mid, handled)       # released once this and every earlier item are handled

The helper is pure apart from reading the clock when an item arrives: what is stuck and for how
long is in the metrics ``gateway_ack_pending{name}`` (items waiting) and
``gateway_ack_stuck_seconds{name}`` (age of the oldest one), computed when /metrics is read, so
the per-item cost is a deque append and one clock read.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from prometheus_client import Gauge

from gateway.clock import Clock, resolve

logger = logging.getLogger(__name__)

T = TypeVar("T")

ACK_PENDING = Gauge(
    "gateway_ack_pending",
    "Items received and not yet acknowledged (their handler or an earlier one is running).",
    ["name"],
)
ACK_STUCK_SECONDS = Gauge(
    "gateway_ack_stuck_seconds",
    "Age of the oldest item not yet acknowledged (0 when none is waiting).",
    ["name"],
)


class Ticket:
    """One item's place in the acknowledgement order; pass it to :meth:`OrderedAcks.complete`.

    Attributes:
        item: the item given to :meth:`OrderedAcks.add`.
        added_at: the clock's time when it was added.
        waiting: completions still expected (``parts`` minus those done).
    """

    __slots__ = ("added_at", "generation", "item", "waiting")

    def __init__(self, item: Any, added_at: float, parts: int, generation: int) -> None:
        self.item = item
        self.added_at = added_at
        self.waiting = parts
        self.generation = generation

    def __repr__(self) -> str:
        return f"<Ticket {self.item!r} waiting={self.waiting}>"

    @property
    def done(self) -> bool:
        """True once every expected completion arrived."""
        return self.waiting == 0


class OrderedAcks(Generic[T]):
    """Completions that finish out of order -> an in-order watermark of items.

    Args:
        release: called with the items whose turn has come, in arrival order, each time the
            done prefix grows. It runs synchronously inside :meth:`complete` and must not
            raise (an exception propagates to the caller of ``complete``; from :meth:`track`
            it is logged).
        clock: times how long items wait; None: the running loop's.
        name: labels the metrics ``gateway_ack_pending{name}`` and
            ``gateway_ack_stuck_seconds{name}``; empty: no metrics. One live instance per name
            (a new one takes the name over).
    """

    def __init__(
        self,
        release: Callable[[list[T]], None],
        *,
        clock: Clock | None = None,
        name: str = "",
    ) -> None:
        self._release = release
        self._clock = resolve(clock)
        self.name = name
        self._tickets: deque[Ticket] = deque()
        self._generation = 0
        if name:
            ref = weakref.ref(self)
            ACK_PENDING.labels(name=name).set_function(lambda: _read(ref, "pending"))
            ACK_STUCK_SECONDS.labels(name=name).set_function(lambda: _read(ref, "age"))

    def __repr__(self) -> str:
        return f"<OrderedAcks {self.name!r} pending={len(self._tickets)}>"

    @property
    def pending(self) -> int:
        """Items added and not yet released."""
        return len(self._tickets)

    def oldest_age(self) -> float | None:
        """Seconds since the oldest unreleased item was added; None when nothing waits."""
        tickets = self._tickets
        return self._clock.time() - tickets[0].added_at if tickets else None

    def oldest(self) -> T | None:
        """The oldest unreleased item (the one holding the watermark back), or None."""
        tickets = self._tickets
        return tickets[0].item if tickets else None

    def add(self, item: T, parts: int = 1) -> Ticket:
        """Record an item, in arrival order.

        Args:
            item: what ``release`` will be given (a packet id, an update id...).
            parts: completions needed before it is done (an MQTT message delivered to
                several scopes needs one per scope); 0: done already (released in order).

        Returns:
            The ticket to pass to :meth:`complete`.
        """
        ticket = Ticket(item, self._clock.time(), parts, self._generation)
        self._tickets.append(ticket)
        if parts <= 0:
            ticket.waiting = 0
            self._flush()
        return ticket

    def complete(self, ticket: Ticket) -> None:
        """One completion of ``ticket``; releases the done prefix, if it grew.

        Completing a ticket more often than its ``parts``, or one dropped by :meth:`clear`,
        has no effect.
        """
        if ticket.waiting <= 0 or ticket.generation != self._generation:
            return
        ticket.waiting -= 1
        if ticket.waiting == 0 and self._tickets[0] is ticket:
            self._flush()

    def track(self, item: T, handled: asyncio.Future[Any], parts: int = 1) -> Ticket:
        """:meth:`add` the item and :meth:`complete` it when ``handled`` ends, however it ends.

        A handler that raised still completes its item: the error is logged by the runtime,
        and an item that always fails must not hold back every later one forever.
        """
        ticket = self.add(item, parts)
        handled.add_done_callback(lambda _future: self._complete_logged(ticket))
        return ticket

    def clear(self) -> list[T]:
        """Forget every unreleased item (e.g. the connection they would be acked on is gone).

        Later :meth:`complete` calls for their tickets are ignored.

        Returns:
            The items dropped, in arrival order.
        """
        dropped: list[T] = [ticket.item for ticket in self._tickets]
        self._tickets.clear()
        self._generation += 1
        return dropped

    def _complete_logged(self, ticket: Ticket) -> None:
        try:
            self.complete(ticket)
        except Exception:
            logger.exception("releasing acknowledgements of %r raised", self)

    def _flush(self) -> None:
        tickets = self._tickets
        ready: list[T] = []
        while tickets and tickets[0].waiting == 0:
            ready.append(tickets.popleft().item)
        if ready:
            self._release(ready)


def _read(ref: weakref.ref[OrderedAcks[Any]], what: str) -> float:
    acks = ref()
    if acks is None:
        return 0.0
    if what == "pending":
        return float(acks.pending)
    return acks.oldest_age() or 0.0
