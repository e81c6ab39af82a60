"""Acknowledge QoS 1/2 messages after handling, in the order they arrived (pure).

MQTT 3.1.1 4.6 / MQTT 5 4.6: a client MUST send PUBACK (QoS 1) and PUBREC/PUBCOMP (QoS 2)
packets "in the order in which the corresponding PUBLISH packets were received". Handlers of
different devices finish in any order, so each message gets an :class:`AckEntry` in arrival
order; :meth:`AckQueue.ready` releases the acknowledgements from the head while the head is done.
"""

from __future__ import annotations

from collections import deque


class AckEntry:
    """One received QoS 1/2 message waiting for its handlers (``waiting`` of them)."""

    __slots__ = ("generation", "mid", "qos", "waiting")

    def __init__(self, mid: int, qos: int, waiting: int, generation: int) -> None:
        self.mid = mid
        self.qos = qos
        self.waiting = waiting
        self.generation = generation

    def __repr__(self) -> str:
        return f"<AckEntry mid={self.mid} qos={self.qos} waiting={self.waiting}>"


class AckQueue:
    """Acknowledgements in arrival order. Call :meth:`ready` after each :meth:`done`.

    ``generation`` counts connections: entries of a lost connection are dropped by
    :meth:`clear` (the broker redelivers those messages on the next connection, with new ids).
    """

    def __init__(self) -> None:
        self._entries: deque[AckEntry] = deque()
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, mid: int, qos: int, waiting: int) -> AckEntry:
        """Record a received message that ``waiting`` handlers must finish before its ack."""
        entry = AckEntry(mid, qos, waiting, self.generation)
        self._entries.append(entry)
        return entry

    def done(self, entry: AckEntry) -> None:
        """One handler of ``entry`` finished (or the message will never be handled here)."""
        if entry.waiting > 0:
            entry.waiting -= 1

    def ready(self) -> list[tuple[int, int]]:
        """Pop the ``(mid, qos)`` pairs that may be acknowledged now, in arrival order."""
        entries = self._entries
        out: list[tuple[int, int]] = []
        while entries and entries[0].waiting == 0:
            entry = entries.popleft()
            out.append((entry.mid, entry.qos))
        return out

    def clear(self) -> int:
        """Forget every entry (the connection is gone); returns how many were dropped."""
        dropped = len(self._entries)
        self._entries.clear()
        self.generation += 1
        return dropped
