"""Acknowledge QoS 1/2 messages after handling, in arrival order, and QoS 2 packet ids (pure).

MQTT 3.1.1 4.6 / MQTT 5 4.6: a client MUST send PUBACK (QoS 1) and PUBREC (QoS 2) packets
"in the order in which the corresponding PUBLISH packets were received". Handlers of different
devices finish in any order; the in-order part is the toolkit's
:class:`~gateway.acks.OrderedAcks` (which also shows what is stuck, and for how long, in
``gateway_ack_stuck_seconds{name="mqtt"}``). What is MQTT's own stays here: QoS 2 (MQTT 3.1.1
4.3.3 / MQTT 5 4.3.3, "Method B": the message is handled before PUBREC) needs the packet ids
between PUBLISH and PUBREL, so that a re-sent PUBLISH (DUP, same packet id) is not handled a
second time: see :meth:`MqttAcks.add_qos2`.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.acks import OrderedAcks, Ticket
from gateway.clock import Clock

__all__ = ["MqttAcks", "Ticket"]


class _Held:
    """The copy of a QoS 2 message being handled under a packet id (no PUBREC sent yet)."""

    __slots__ = ("followers", "generation", "remaining")

    def __init__(self, parts: int, generation: int) -> None:
        self.remaining = parts
        self.generation = generation
        #: Tickets of later copies of this message: done when this one is.
        self.followers: list[Ticket] = []


class MqttAcks:
    """PUBACK/PUBREC in arrival order, each once its message is handled.

    Args:
        send: called with ``(packet id, qos)`` for each acknowledgement, in order.
        clock: times how long acknowledgements wait (the metric); None: the loop's.
        name: labels the ``gateway_ack_*`` metrics.

    ``generation`` counts connections: acknowledgements of a lost connection are dropped by
    :meth:`clear` (the broker redelivers those messages on the next connection).
    """

    def __init__(
        self, send: Callable[[int, int], None], *, clock: Clock | None = None, name: str = "mqtt"
    ) -> None:
        self._send = send
        self._acks: OrderedAcks[tuple[int, int]] = OrderedAcks(
            self._release, clock=clock, name=name
        )
        self.generation = 0
        # QoS 2 packet id -> the copy being handled, or None once its PUBREC is released (the
        # broker owes a PUBREL). Kept across reconnects: the session is.
        self._held: dict[int, _Held | None] = {}
        # The first copy's ticket -> its record, until its handlers are done (the id may be
        # reused meanwhile if a broker sends PUBREL early; the followers stay with the copy).
        self._copies: dict[Ticket, _Held] = {}

    def __len__(self) -> int:
        return self._acks.pending

    def add(self, mid: int, qos: int, parts: int) -> Ticket:
        """Record a received message that ``parts`` handlers must finish before its ack
        (0: acknowledge it in its turn without handling)."""
        return self._acks.add((mid, qos), parts)

    def add_qos2(self, mid: int, parts: int) -> Ticket | None:
        """Record a received QoS 2 PUBLISH; returns its ticket, or None for a duplicate.

        None means "do not handle it": either a copy with this packet id is being handled
        (the duplicate's PUBREC follows that copy's), or it was handled and its PUBREC
        released already (PUBREC again now, in its turn: MQTT 4.3.3).
        """
        if mid not in self._held:
            ticket = self._acks.add((mid, 2), parts)
            self._held[mid] = self._copies[ticket] = _Held(parts, self.generation)
            return ticket
        first = self._held[mid]
        if first is None or first.remaining <= 0:
            self._acks.add((mid, 2), 0)
        else:
            first.followers.append(self._acks.add((mid, 2), 1))
        return None

    def done(self, ticket: Ticket) -> None:
        """One handler of ``ticket``'s message finished (or it will never be handled here)."""
        held = self._copies.get(ticket)
        if held is None:
            self._acks.complete(ticket)
            return
        held.remaining -= 1
        self._acks.complete(ticket)
        if held.remaining > 0:
            return
        del self._copies[ticket]
        mid = ticket.item[0]
        followers, held.followers = held.followers, []
        for follower in followers:
            self._acks.complete(follower)
        if not followers and held.generation != self.generation and self._held.get(mid) is held:
            # Its PUBREC can no longer be sent: the broker re-sends the PUBLISH, and that copy
            # is handled again (at least once).
            del self._held[mid]

    def released(self, mid: int) -> None:
        """The broker sent PUBREL for ``mid``: the packet id may now name a new message."""
        self._held.pop(mid, None)

    def forget_qos2(self) -> None:
        """The broker has no session for us (CONNACK session present = 0): no PUBREL comes."""
        self._held.clear()

    def clear(self) -> int:
        """Forget every pending acknowledgement (the connection is gone); returns how many."""
        dropped = len(self._acks.clear())
        self.generation += 1
        return dropped

    def _release(self, items: list[tuple[int, int]]) -> None:
        send = self._send
        for mid, qos in items:
            if qos == 2:
                self._held[mid] = None  # PUBREC goes out: wait for PUBREL
            send(mid, qos)
