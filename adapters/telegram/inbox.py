"""The inbox: stored updates -> per-chat scopes on the runtime -> one commit per outcome.

Theory of operation
-------------------

Updates are in the database before Telegram is told we have them (polling.py, webhook.py).
:class:`Inbox` reads the pending ones in insertion order and delivers each to the scope of its
chat with ``runtime.deliver_by_key(chat_id, ...)``: one application instance per chat, events
of a chat in order, chats concurrently.

While the application handles an update, what it sends to the chat is not sent: the calls
are collected on that update. When the update's "handled" future resolves, the update's new
state (handled, or failed after TELEGRAM_MAX_ATTEMPTS errors) and its calls are committed in
ONE transaction (batched with other outcomes), and only then go to the outbox sender. A crash
before that commit leaves the update pending and its replies unsent: it is handled again at
restart. A crash after it finds the calls in the outbox. Either way each update's replies
exist once.

Which update does a send belong to? Gateway consumers handle one event at a time, so it is
the oldest update of that chat whose handled future is not done yet. Sends made when no
update of the chat is in progress (a room message relayed from another protocol) are
committed on their own.

Reach (gateway/reach.py): with a reach channel, every chat's scope carries
``scope["reach"] = {"channel": ..., "type": "telegram.send", "to": chat_id}``. The adapter
takes ``telegram.send`` messages from that channel (only while it holds the lease) and
:meth:`Inbox.deliver_reach` commits them to the outbox like any other send, whether the
chat's scope is open or not: a text as ``telegram.message``, a text with a ``photo`` as
``telegram.photo`` captioned with the text (what does not fit the caption follows as a
message).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from adapters.telegram import metrics
from adapters.telegram.mapping import (
    MAX_CAPTION,
    Ignored,
    Inbound,
    build_scope,
    map_update,
    outbound_calls,
    split_text,
)
from adapters.telegram.models import InboxUpdate
from adapters.telegram.store import (
    Database,
    Outcome,
    PendingUpdate,
    QueuedCall,
    commit_outcomes,
    pending_updates,
)
from gateway.backoff import Backoff
from gateway.exceptions import (
    InvalidMessage,
    RemoteProtocolError,
    ScopeClosed,
    UnknownEventType,
)
from gateway.reach import ReachMessage, reach_address
from gateway.runtime import ApplicationRuntime, ScopeSpec
from gateway.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

HANDLED, FAILED, IGNORED = InboxUpdate.HANDLED, InboxUpdate.FAILED, InboxUpdate.IGNORED
#: The type of the messages the adapter takes on its reach channel.
REACH_TYPE = "telegram.send"
#: How often the inbox looks for updates other processes stored (webhook mode), in seconds.
POLL_INTERVAL = 0.5
#: Every this many reads, read from the start again: catches updates another process
#: committed out of insertion order (concurrent webhook requests).
SWEEP_EVERY = 10

Call = tuple[int, str, dict[str, Any], float]


@dataclass
class _Handling:
    """One update delivered to its chat's scope, and the calls its handler made."""

    update_id: int
    inbound: Inbound
    attempts: int
    future: asyncio.Future[Any] | None = None
    calls: list[Call] = field(default_factory=list)


def reach_events(message: ReachMessage) -> list[dict[str, Any]]:
    """The send events a reach message becomes: a ``telegram.message``, or a
    ``telegram.photo`` with the text as caption (the rest, beyond the caption limit, as a
    ``telegram.message`` after it)."""
    if message.photo is None:
        return [{"type": "telegram.message", "text": message.text}]
    caption, *rest = split_text(message.text, MAX_CAPTION)
    photo = {"type": "telegram.photo", "photo": message.photo, "filename": "photo.png"}
    events: list[dict[str, Any]] = [{**photo, "caption": caption}]
    if "".join(rest).strip():
        events.append({"type": "telegram.message", "text": "".join(rest)})
    return events


class Inbox:
    """Feeds stored updates to the runtime and commits their outcomes with their replies.

    Args:
        runtime: the application runtime (one scope per chat id).
        database: the adapter's database thread.
        enqueue: called with the outbox rows committed (the sender sends them).
        bot: getMe's answer, for ``scope["bot"]``.
        max_attempts: handler errors before an update is marked failed.
        max_in_flight: updates delivered and not committed yet, at most.
        idle_timeout: seconds without updates before a chat's scope closes (None: never).
        reach_channel: the channel-layer name the adapter takes ``telegram.send`` messages
            on (put in every scope as ``scope["reach"]``); None: no reach.
    """

    def __init__(
        self,
        runtime: ApplicationRuntime,
        database: Database,
        enqueue: Callable[[list[QueuedCall]], None],
        bot: dict[str, Any],
        *,
        max_attempts: int = 3,
        max_in_flight: int = 1000,
        idle_timeout: float | None = None,
        reach_channel: str | None = None,
    ) -> None:
        self._runtime = runtime
        self.reach_channel = reach_channel
        self._db = database
        self._enqueue = enqueue
        self._bot = bot
        self._max_attempts = max_attempts
        self._capacity = max_in_flight
        self._idle_timeout = idle_timeout
        self._chats: dict[int, deque[_Handling]] = {}
        self._in_flight: set[int] = set()
        self._after_seq = 0
        self._reads = 0
        self._outcomes: list[Outcome] = []
        self._direct: list[Call] = []
        self._wake = asyncio.Event()
        self._commit_wake = asyncio.Event()
        self._stopping = False

    @property
    def in_flight(self) -> int:
        """Updates delivered or being committed."""
        return len(self._in_flight)

    def notify(self) -> None:
        """New updates were stored: read them now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Read pending updates and deliver them until ``stop`` is set."""
        backoff = Backoff("telegram inbox database", logger=logger)
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                room = self._capacity - len(self._in_flight)
                if room > 0:
                    try:
                        rows = await self._read(room)
                    except Exception as exc:  # the database is down: wait, then read again
                        await backoff.wait(exc)
                        continue
                    backoff.succeeded()
                    for row in rows:
                        self._start(row)
                    if len(rows) == room:
                        continue  # more are waiting
                self._wake.clear()
                waker = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait(
                    {waker, stopped}, timeout=POLL_INTERVAL, return_when="FIRST_COMPLETED"
                )
                waker.cancel()
        finally:
            stopped.cancel()

    async def _read(self, room: int) -> list[PendingUpdate]:
        self._reads += 1
        if self._reads % SWEEP_EVERY == 0:
            self._after_seq = 0
        rows = await self._db.run(pending_updates, self._after_seq, room)
        if rows:
            self._after_seq = max(self._after_seq, rows[-1].seq)
        return [row for row in rows if row.update_id not in self._in_flight]

    def _start(self, row: PendingUpdate) -> None:
        self._in_flight.add(row.update_id)
        try:
            result = map_update(row.data)
        except RemoteProtocolError as exc:
            logger.warning(
                "update %s is not a valid Telegram update, ignored: %s", row.update_id, exc
            )
            metrics.invalid.inc()
            self._finish(Outcome(row.update_id, IGNORED, error=str(exc)))
            return
        if isinstance(result, Ignored):
            logger.debug("update %s is a %s, not handled: acknowledged", row.update_id, result.kind)
            metrics.IGNORED.labels(kind=result.kind).inc()
            metrics.ignored.inc()
            self._finish(Outcome(row.update_id, IGNORED))
            return
        self._deliver(_Handling(row.update_id, result, row.attempts))

    def _deliver(self, handling: _Handling) -> None:
        inbound = handling.inbound
        chat_id = inbound.chat_id
        self._chats.setdefault(chat_id, deque()).append(handling)
        future = self._runtime.deliver_by_key(
            chat_id, inbound.events[0], partial(self._open, inbound)
        )
        handling.future = future
        future.add_done_callback(partial(self._handled, handling))

    def _open(self, inbound: Inbound) -> ScopeSpec:
        chat_id = inbound.chat_id
        scope = build_scope(inbound.chat, inbound.user, self._bot)
        if self.reach_channel is not None:
            scope["reach"] = reach_address(self.reach_channel, REACH_TYPE, chat_id)
        return ScopeSpec(
            scope=scope,
            send=partial(self.send, chat_id),
            close_event={"type": "telegram.disconnect", "reason": "closed"},
            idle_timeout=self._idle_timeout,
        )

    async def send(self, chat_id: int, message: Message) -> None:
        """The ``send`` of a chat's scope: validate, then collect on the update in progress.

        Raises:
            LocalProtocolError: the message is not a valid ``telegram.*`` send event.
        """
        calls = self.calls_for(chat_id, message)
        handling = self._current(chat_id)
        if handling is not None:
            handling.calls.extend(calls)
        else:
            self._direct.extend(calls)
            self._commit_wake.set()

    async def deliver_reach(self, message: ReachMessage) -> None:
        """A ``telegram.send`` from the reach channel: the text (or the photo captioned with
        it) goes to the chat through the outbox (committed on its own, like a room message
        sent while no update is handled).

        Raises:
            InvalidMessage: ``to`` is not a chat id.
        """
        chat_id = message.to
        if not isinstance(chat_id, int):
            raise InvalidMessage(f"{REACH_TYPE}: 'to' must be a chat id (int), got {chat_id!r}")
        for event in reach_events(message):
            self._direct.extend(self.calls_for(chat_id, event))
        self._commit_wake.set()

    @staticmethod
    def calls_for(chat_id: int, message: Message) -> list[Call]:
        """The outbox rows (chat, method, params, cost) for one send event."""
        return [
            (chat_id, call.method, call.params, call.cost)
            for call in outbound_calls(chat_id, message)
        ]

    def _current(self, chat_id: int) -> _Handling | None:
        for handling in self._chats.get(chat_id, ()):
            if handling.future is not None and not handling.future.done():
                return handling
        return None

    def _handled(self, handling: _Handling, future: asyncio.Future[Any]) -> None:
        chat_id = handling.inbound.chat_id
        queue = self._chats.get(chat_id)
        if queue is not None:
            try:
                queue.remove(handling)
            except ValueError:
                pass
            if not queue:
                del self._chats[chat_id]
        exc = None if future.cancelled() else future.exception()
        if future.cancelled() or (isinstance(exc, ScopeClosed) and self._stopping):
            # Not handled (shutdown): it stays pending in the database, handled at restart.
            self._in_flight.discard(handling.update_id)
            return
        if exc is None:
            metrics.handled.inc()
            self._finish(Outcome(handling.update_id, HANDLED, calls=handling.calls))
            return
        handling.attempts += 1
        if handling.attempts < self._max_attempts and not self._stopping:
            logger.warning(
                "update %s for chat %s failed (attempt %d of %d), retrying: %r",
                handling.update_id,
                chat_id,
                handling.attempts,
                self._max_attempts,
                exc,
            )
            handling.calls = []
            handling.future = None
            self._deliver(handling)
            return
        logger.error(
            "update %s for chat %s failed %d times, marked failed (not retried): %r",
            handling.update_id,
            chat_id,
            handling.attempts,
            exc,
        )
        metrics.failed.inc()
        self._finish(
            Outcome(
                handling.update_id,
                FAILED,
                chat_id=chat_id,
                attempts=handling.attempts,
                error=repr(exc),
            )
        )

    def _finish(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        self._commit_wake.set()

    async def commit_forever(self) -> None:
        """Commit outcomes and direct sends in batches; hand the new rows to the sender."""
        backoff = Backoff("telegram outcome database", logger=logger)
        while True:
            await self._commit_wake.wait()
            self._commit_wake.clear()
            await self._commit_once(backoff)

    async def _commit_once(self, backoff: Backoff) -> None:
        while self._outcomes or self._direct:
            outcomes, self._outcomes = self._outcomes, []
            direct, self._direct = self._direct, []
            try:
                rows = await self._db.run(commit_outcomes, outcomes, direct)
            except Exception as exc:  # keep them and try again: nothing is lost
                self._outcomes[:0] = outcomes
                self._direct[:0] = direct
                await backoff.wait(exc)
                continue
            backoff.succeeded()
            for outcome in outcomes:
                self._in_flight.discard(outcome.update_id)
            if rows:
                self._enqueue(rows)
            self._wake.set()  # room for more updates

    async def close(self) -> None:
        """After the runtime shut down: commit what was handled (the rest stays pending)."""
        self._stopping = True
        await self._commit_once(Backoff("telegram outcome database", logger=logger, maximum=1.0))

    def stopping(self) -> None:
        """Shutdown started: updates whose scope closes are left pending, not retried."""
        self._stopping = True


def tolerate_missing_disconnect(application: ASGIApp) -> ASGIApp:
    """Let consumers without a ``telegram_disconnect`` handler (the seed's ChattyBot) end
    quietly when their chat's scope closes, instead of failing with UnknownEventType.

    Consumers that define the handler get the event as usual.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        last: list[str] = [""]

        async def receive_tracked() -> Message:
            message = await receive()
            last[0] = message.get("type", "")
            return message

        try:
            await application(scope, receive_tracked, send)
        except UnknownEventType:
            if last[0] != "telegram.disconnect":
                raise
            logger.debug(
                "chat %s: no telegram_disconnect handler; scope closed", scope.get("chat_id")
            )

    return app
