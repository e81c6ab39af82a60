"""APRS messaging as operators expect it, sans-I/O: numbering, re-sending, acks.

Theory of operation (aprsd and the APRS 1.0.1 "message acknowledgement" rules):

* Inbound: the driver acks every numbered message to our callsign at once (even a repeat: the
  sender re-sends because our ack was lost) and delivers it only the first time it sees the
  (addressee, sender, number); :mod:`adapters.ax25.seen` remembers that across restarts.
* Outbound: :meth:`Messenger.send` splits the text into parts of at most 67 characters. Each
  part gets a message number and is sent, then re-sent on a backing-off schedule
  (``retry_initial`` seconds, times ``retry_factor`` each time, at most ``retry_maximum``)
  until the addressee acks or rejects it, or ``max_tries`` transmissions went unanswered.
  Parts to one station go one at a time, in order: the next part is sent when the previous one
  is acked (or given up), so a station never gets part 2 before part 1 and the channel carries
  one outstanding message per station.
* Time is an argument (``now``, seconds on the driver's monotonic clock). The driver arms one
  timer at :meth:`get_timer` and calls :meth:`handle_timer` when it fires; every method returns
  the :class:`Transmission` values to put on the air.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.ax25.aprs import MAX_TEXT, encode_message, split_text

__all__ = ["GiveUp", "Messenger", "RetryPolicy", "Transmission"]

logger = logging.getLogger(__name__)

#: Message numbers are 1-5 characters; we count 1..99999 and wrap.
_MSGNO_LIMIT = 100_000


@dataclass(frozen=True)
class RetryPolicy:
    """When to re-send an unacknowledged message: after ``initial`` s, then ``factor`` times
    longer each time up to ``maximum``; ``max_tries`` transmissions in all."""

    initial: float = 30.0
    factor: float = 2.0
    maximum: float = 600.0
    max_tries: int = 5

    def delay(self, tries: int) -> float:
        """Seconds to wait after the ``tries``-th transmission."""
        return min(self.initial * self.factor ** (tries - 1), self.maximum)


@dataclass(frozen=True, slots=True)
class Transmission:
    """One APRS info field to send from ``local`` (callsign text) to ``remote``.

    ``retry`` is True when it is a re-send of a part already on the air.
    """

    local: str
    remote: str
    info: bytes
    retry: bool = False


@dataclass(frozen=True, slots=True)
class GiveUp:
    """A part was sent ``tries`` times without an ack (or was rejected): it is dropped."""

    local: str
    remote: str
    msgno: str
    text: str
    rejected: bool


@dataclass
class _Part:
    text: str
    msgno: str = ""
    tries: int = 0
    due: float = 0.0


@dataclass
class _Conversation:
    """Outbound parts from one of our callsigns to one station, oldest first."""

    parts: deque[_Part] = field(default_factory=deque)


class Messenger:
    """Outbound APRS messages with numbering and re-sending; see the module docstring.

    Args:
        policy: the re-send schedule and limit.
        first_msgno: the first message number to use (the one after the last run's, so
            stations that remember our old numbers do not take new messages for repeats).
        on_number: called with each number as it is taken (the driver saves it for the next
            run).
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        first_msgno: int = 1,
        on_number: Callable[[int], None] | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._numbers = itertools.count(max(1, first_msgno % _MSGNO_LIMIT))
        self._on_number = on_number
        self._conversations: dict[tuple[str, str], _Conversation] = {}
        self.given_up: list[GiveUp] = []
        #: Counters the driver exports: acks received, re-sends, parts dropped.
        self.acks_received = 0
        self.retries = 0

    def _next_msgno(self) -> str:
        number = next(self._numbers)
        if number >= _MSGNO_LIMIT:
            self._numbers = itertools.count(2)
            number = 1
        if self._on_number is not None:
            self._on_number(number)
        return str(number)

    def send(self, local: str, remote: str, text: str, now: float) -> list[Transmission]:
        """Queue ``text`` from ``local`` to ``remote``; returns what to transmit now (the first
        part, unless an earlier message to that station is still waiting for its ack)."""
        return self.send_parts(local, remote, split_text(text, MAX_TEXT), now)

    def send_parts(
        self, local: str, remote: str, parts: list[str], now: float
    ) -> list[Transmission]:
        """:meth:`send` for text already split into parts (each at most 67 clean characters,
        as :func:`~adapters.ax25.aprs.split_text` gives)."""
        if not parts:
            return []
        key = (local, remote)
        conversation = self._conversations.get(key)
        idle = conversation is None or not conversation.parts
        if conversation is None:
            conversation = self._conversations[key] = _Conversation()
        conversation.parts.extend(_Part(part) for part in parts)
        return self._start_head(key, conversation, now) if idle else []

    def _start_head(
        self, key: tuple[str, str], conversation: _Conversation, now: float
    ) -> list[Transmission]:
        if not conversation.parts:
            del self._conversations[key]
            return []
        part = conversation.parts[0]
        part.msgno = self._next_msgno()
        return [self._transmit(key, part, now)]

    def _transmit(self, key: tuple[str, str], part: _Part, now: float) -> Transmission:
        part.tries += 1
        part.due = now + self.policy.delay(part.tries)
        local, remote = key
        info = encode_message(remote, part.text, part.msgno)
        return Transmission(local, remote, info, retry=part.tries > 1)

    def acknowledged(
        self, local: str, remote: str, msgno: str, now: float, rejected: bool = False
    ) -> list[Transmission]:
        """``remote`` acked (or rejected) our message ``msgno`` to ``local``'s station: stop
        re-sending it and start the next part. An ack for nothing outstanding is ignored (a
        duplicate ack, or one for a part we gave up on)."""
        key = (local, remote)
        conversation = self._conversations.get(key)
        if conversation is None or not conversation.parts:
            return []
        head = conversation.parts[0]
        if head.msgno != msgno:
            logger.debug("ack %s from %s for %s matches nothing outstanding", msgno, remote, local)
            return []
        conversation.parts.popleft()
        if rejected:
            self.given_up.append(GiveUp(local, remote, msgno, head.text, rejected=True))
        else:
            self.acks_received += 1
        return self._start_head(key, conversation, now)

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must be called next; None when nothing waits for an ack."""
        return min((c.parts[0].due for c in self._conversations.values() if c.parts), default=None)

    def handle_timer(self, now: float) -> list[Transmission]:
        """Re-send every part whose time has come; give up on those out of tries (see
        :meth:`take_given_up`). Returns the transmissions."""
        out: list[Transmission] = []
        for key, conversation in list(self._conversations.items()):
            if not conversation.parts or conversation.parts[0].due > now:
                continue
            head = conversation.parts[0]
            if head.tries < self.policy.max_tries:
                self.retries += 1
                out.append(self._transmit(key, head, now))
                continue
            conversation.parts.popleft()
            self.given_up.append(GiveUp(*key, head.msgno, head.text, rejected=False))
            out.extend(self._start_head(key, conversation, now))
        return out

    def take_given_up(self) -> list[GiveUp]:
        """Parts dropped since the last call (the driver logs and counts them)."""
        given_up, self.given_up = self.given_up, []
        return given_up

    def queued(self, local: str, remote: str) -> int:
        """Parts from ``local`` to ``remote`` queued or waiting for an ack."""
        conversation = self._conversations.get((local, remote))
        return 0 if conversation is None else len(conversation.parts)

    @property
    def outstanding(self) -> int:
        """Parts queued or waiting for an ack, over every station."""
        return sum(len(c.parts) for c in self._conversations.values())
