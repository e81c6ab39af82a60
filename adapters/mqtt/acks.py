"""Acknowledge QoS 1/2 messages after handling, in the order they arrived (pure).

MQTT 3.1.1 4.6 / MQTT 5 4.6: a client MUST send PUBACK (QoS 1) and PUBREC (QoS 2)
packets "in the order in which the corresponding PUBLISH packets were received". Handlers of
different devices finish in any order, so each message gets an :class:`AckEntry` in arrival
order; :meth:`AckQueue.ready` releases the acknowledgements from the head while the head is done.

QoS 2 (MQTT 3.1.1 4.3.3 / MQTT 5 4.3.3, "Method B": the message is handled before PUBREC) also
needs the packet ids between PUBLISH and PUBREL, so that a re-sent PUBLISH (DUP, same packet id)
is not handled a second time: see :meth:`AckQueue.add_qos2`.
"""

from __future__ import annotations

from collections import deque


class AckEntry:
    """One received QoS 1/2 message waiting for its handlers (``waiting`` of them)."""

    __slots__ = ("followers", "generation", "mid", "qos", "waiting")

    def __init__(self, mid: int, qos: int, waiting: int, generation: int) -> None:
        self.mid = mid
        self.qos = qos
        self.waiting = waiting
        self.generation = generation
        #: Entries of later copies of this QoS 2 message: done when this one is.
        self.followers: list[AckEntry] | None = None

    def __repr__(self) -> str:
        return f"<AckEntry mid={self.mid} qos={self.qos} waiting={self.waiting}>"


class AckQueue:
    """Acknowledgements in arrival order. Call :meth:`ready` after each :meth:`done`.

    ``generation`` counts connections: entries of a lost connection are dropped by
    :meth:`clear` (the broker redelivers those messages on the next connection).
    """

    def __init__(self) -> None:
        self._entries: deque[AckEntry] = deque()
        self.generation = 0
        # QoS 2 packet id -> the entry of the copy being handled, or None once its PUBREC is
        # released (the broker owes a PUBREL). Kept across reconnects: the session is.
        self._qos2: dict[int, AckEntry | None] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, mid: int, qos: int, waiting: int) -> AckEntry:
        """Record a received message that ``waiting`` handlers must finish before its ack."""
        entry = AckEntry(mid, qos, waiting, self.generation)
        self._entries.append(entry)
        return entry

    def add_qos2(self, mid: int, waiting: int) -> AckEntry | None:
        """Record a received QoS 2 PUBLISH; returns its entry, or None for a duplicate.

        None means "do not handle it": either a copy with this packet id is being handled
        (the new entry is released when that copy's handlers are done), or it was handled and
        its PUBREC released already (the new entry is ready now: PUBREC again, MQTT 4.3.3).
        """
        if mid not in self._qos2:
            entry = self.add(mid, 2, waiting)
            self._qos2[mid] = entry
            return entry
        first = self._qos2[mid]
        if first is None or first.waiting == 0:
            self.add(mid, 2, 0)
        else:
            if first.followers is None:
                first.followers = []
            first.followers.append(self.add(mid, 2, 1))
        return None

    def released(self, mid: int) -> None:
        """The broker sent PUBREL for ``mid``: the packet id may now name a new message."""
        self._qos2.pop(mid, None)

    def forget_qos2(self) -> None:
        """The broker has no session for us (CONNACK session present = 0): no PUBREL comes."""
        self._qos2.clear()

    def done(self, entry: AckEntry) -> None:
        """One handler of ``entry`` finished (or the message will never be handled here)."""
        if entry.waiting > 0:
            entry.waiting -= 1
        if entry.waiting == 0 and entry.qos == 2:
            if entry.followers:
                for follower in entry.followers:
                    follower.waiting = 0
                entry.followers = None
            elif entry.generation != self.generation and self._qos2.get(entry.mid) is entry:
                # Its PUBREC can no longer be sent: the broker re-sends the PUBLISH, and that
                # copy is handled again (at least once).
                del self._qos2[entry.mid]

    def ready(self) -> list[tuple[int, int]]:
        """Pop the ``(mid, qos)`` pairs that may be acknowledged now, in arrival order."""
        entries = self._entries
        out: list[tuple[int, int]] = []
        while entries and entries[0].waiting == 0:
            entry = entries.popleft()
            if entry.qos == 2:
                self._qos2[entry.mid] = None  # PUBREC goes out: wait for PUBREL
            out.append((entry.mid, entry.qos))
        return out

    def clear(self) -> int:
        """Forget every entry (the connection is gone); returns how many were dropped."""
        dropped = len(self._entries)
        self._entries.clear()
        self.generation += 1
        return dropped
