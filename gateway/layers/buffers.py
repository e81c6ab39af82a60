"""Per-channel FIFO buffers in process memory: the store behind InMemoryChannelLayer and the
process-local channels of the Redis layer.

Theory of operation. Each channel is a deque of ``(expires_at, message)`` plus a deque of
waiting receivers (futures). ``put`` appends and wakes one waiter; ``get`` pops the head or
parks on a future. A waiter is only ever *woken*: the message stays in the deque until the
woken task runs and takes it, so a receive cancelled at any point loses nothing and cannot
reorder anything (a cancelled, already-woken waiter passes its wake-up on).

Expiry is lazy and costs nothing per other channel: a message is dropped when it reaches the
head of its deque and is found expired, and a sweep deque of ``(due, channel)`` (one entry per
channel with messages) lets each call free the buffers of channels nobody reads any more in
amortised O(1), instead of scanning every channel as Channels' in-memory layer does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from gateway.clock import Clock, time_source
from gateway.exceptions import ChannelFull
from gateway.waiters import wake_first

#: Called as ``on_expired(channel, count)`` when messages of a channel expire unread.
ExpiredCallback = Callable[[str, int], None]


class _Channel:
    __slots__ = ("messages", "pinned", "waiters")

    def __init__(self) -> None:
        self.messages: deque[tuple[float, Any]] = deque()
        # Created on the first wait: most channels never have a waiter when a message arrives.
        self.waiters: deque[asyncio.Future[None]] | None = None
        #: Kept while empty (see ChannelBuffers.pin).
        self.pinned = False


class ChannelBuffers:
    """FIFO message buffers per channel name, with expiry and waiting receivers.

    Args:
        clock: the clock of the ``expires_at`` given to :meth:`put`: a
            :class:`~gateway.clock.Clock` (tests pass a FakeClock), or a function returning
            the time (``time.time`` for expiry shared with other processes); None: the
            monotonic clock.
        on_expired: called with ``(channel, count)`` when messages expire unread.
    """

    def __init__(
        self,
        clock: Clock | Callable[[], float] | None = None,
        on_expired: ExpiredCallback | None = None,
    ) -> None:
        self.clock = time_source(clock)
        self.on_expired = on_expired
        self._channels: dict[str, _Channel] = {}
        # (due, channel) in roughly increasing due order; `_scheduled` keeps one entry per channel.
        self._due: deque[tuple[float, str]] = deque()
        self._scheduled: set[str] = set()
        #: Receivers parked in :meth:`get` and not yet woken, across all channels.
        self.waiting = 0

    def __len__(self) -> int:
        """Number of channels that hold messages or waiters (their buffers are allocated)."""
        return len(self._channels)

    def __contains__(self, name: object) -> bool:
        """True when ``name`` holds messages or waiters."""
        return name in self._channels

    def names(self) -> list[str]:
        """The channels that hold messages or waiters, oldest first."""
        return list(self._channels)

    def pending(self, name: str) -> int:
        """Number of messages buffered for ``name`` (expired ones included until swept)."""
        channel = self._channels.get(name)
        return len(channel.messages) if channel else 0

    def has_waiters(self, name: str) -> bool:
        """True when a receiver waits on ``name`` and no message is there for it yet."""
        channel = self._channels.get(name)
        return bool(channel and channel.waiters)

    def put(
        self,
        name: str,
        message: Any,
        expires_at: float,
        capacity: int | None = None,
        now: float | None = None,
    ) -> None:
        """Append ``message`` to channel ``name`` and wake one receiver.

        Args:
            now: the clock's time, when the caller has just read it (a group send puts to
                every member at the same moment); read from the clock if ``None``.

        Raises:
            ChannelFull: ``capacity`` unexpired messages already wait in the channel.
        """
        if now is None:
            now = self.clock()
        if self._due and self._due[0][0] <= now:
            self.sweep(now)
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel()
        elif channel.messages and channel.messages[0][0] <= now:
            self._drop_expired(name, channel, now)
        if capacity is not None and len(channel.messages) >= capacity:
            if not channel.messages and not channel.waiters and not channel.pinned:
                del self._channels[name]
            raise ChannelFull(
                f"channel {name!r} is full ({capacity} messages waiting): the message was not "
                "sent; retry later, or raise its capacity with CONFIG capacity/channel_capacity"
            )
        channel.messages.append((expires_at, message))
        if name not in self._scheduled:
            self._scheduled.add(name)
            self._due.append((expires_at, name))
        if channel.waiters:
            self._wake(channel)

    async def get(self, name: str) -> Any:
        """Wait for and return the next unexpired message of channel ``name``.

        Cancelling the call never loses or reorders a message.
        """
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel()
        try:
            while True:
                messages = channel.messages
                if messages:
                    now = self.clock()
                    if messages[0][0] <= now:
                        self._drop_expired(name, channel, now)
                    if messages:
                        return messages.popleft()[1]
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                waiters = channel.waiters
                if waiters is None:
                    waiters = channel.waiters = deque()
                waiters.append(waiter)
                self.waiting += 1
                try:
                    await waiter
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        # Woken and cancelled at once: the message is still buffered; make
                        # sure another receiver hears about it.
                        self._wake(channel)
                    raise
                finally:
                    if not waiter.done() or waiter.cancelled():
                        try:
                            waiters.remove(waiter)
                            self.waiting -= 1
                        except ValueError:
                            pass
        finally:
            if (
                not channel.messages
                and not channel.waiters
                and not channel.pinned
                and self._channels.get(name) is channel
            ):
                del self._channels[name]

    def get_nowait(self, name: str) -> tuple[bool, Any]:
        """Return ``(True, message)`` when one is buffered for ``name``, else ``(False, None)``."""
        channel = self._channels.get(name)
        if channel is None or not channel.messages:
            return False, None
        now = self.clock()
        if channel.messages[0][0] <= now:
            self._drop_expired(name, channel, now)
        if not channel.messages:
            if not channel.waiters and not channel.pinned:
                del self._channels[name]
            return False, None
        message = channel.messages.popleft()[1]
        if not channel.messages and not channel.waiters and not channel.pinned:
            del self._channels[name]
        return True, message

    def watch(self, name: str, waiter: asyncio.Future[None]) -> None:
        """Wake ``waiter`` (``set_result(None)``) when a message is put on ``name``.

        For a receiver that polls with :meth:`get_nowait` instead of parking in :meth:`get`:
        it is woken like a parked ``get`` (the message stays buffered until taken). It must
        call :meth:`unwatch` once it has woken, whoever woke it.
        """
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel()
        if channel.waiters is None:
            channel.waiters = deque()
        channel.waiters.append(waiter)
        self.waiting += 1

    def unwatch(self, name: str, waiter: asyncio.Future[None]) -> None:
        """Forget a waiter given to :meth:`watch`, if a put has not already woken it."""
        channel = self._channels.get(name)
        if channel is None:
            return
        if channel.waiters:
            try:
                channel.waiters.remove(waiter)
                self.waiting -= 1
            except ValueError:
                pass
        if not channel.messages and not channel.waiters and not channel.pinned:
            del self._channels[name]

    def pin(self, name: str) -> None:
        """Keep ``name``'s buffer while it is empty, until :meth:`discard`.

        For a layer whose channels live as long as a subscription (the Pub/Sub layer): no
        buffer is allocated and freed per message, which matters when one message goes to
        a thousand channels.
        """
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel()
        channel.pinned = True

    def discard(self, name: str) -> int:
        """Drop the messages buffered for ``name`` and unpin it; return how many there were."""
        channel = self._channels.get(name)
        if channel is None:
            return 0
        count = len(channel.messages)
        channel.messages.clear()
        channel.pinned = False
        if not channel.waiters:
            del self._channels[name]
        return count

    def detach(self, name: str) -> int:
        """Forget channel ``name``'s buffer as Channels forgets a queue deleted from its
        ``layer.channels``; return how many messages it held.

        Receivers already waiting on it keep that buffer: one already woken still takes its
        message, the others wait on a buffer nobody puts to any more, as in Channels. The
        next put or get on ``name`` starts a new buffer.
        """
        channel = self._channels.pop(name, None)
        return 0 if channel is None else len(channel.messages)

    def clear(self) -> dict[str, int]:
        """Drop every buffered message (waiters keep waiting); return the counts per channel."""
        dropped = {name: len(ch.messages) for name, ch in self._channels.items() if ch.messages}
        self._channels = {
            name: ch for name, ch in self._channels.items() if ch.waiters or ch.pinned
        }
        for channel in self._channels.values():
            channel.messages.clear()
        self._due.clear()
        self._scheduled.clear()
        return dropped

    def drain(self) -> dict[str, list[Any]]:
        """Remove and return every buffered message, oldest first, per channel."""
        drained = {name: [m for _, m in ch.messages] for name, ch in self._channels.items()}
        self.clear()
        return {name: messages for name, messages in drained.items() if messages}

    def sweep(self, now: float) -> None:
        """Drop expired messages of channels whose turn has come, and free empty buffers."""
        due = self._due
        while due and due[0][0] <= now:
            _, name = due.popleft()
            self._scheduled.discard(name)
            channel = self._channels.get(name)
            if channel is None:
                continue
            if channel.messages and channel.messages[0][0] <= now:
                self._drop_expired(name, channel, now)
            if channel.messages:
                self._scheduled.add(name)
                # The head's due time may be earlier than the tail's: the sweep only looks at
                # the front, so such a channel is freed at most one expiry period late.
                due.append((max(channel.messages[0][0], now), name))
            elif not channel.waiters and not channel.pinned:
                del self._channels[name]

    def _drop_expired(self, name: str, channel: _Channel, now: float) -> None:
        messages = channel.messages
        count = 0
        while messages and messages[0][0] <= now:
            messages.popleft()
            count += 1
        if count and self.on_expired is not None:
            self.on_expired(name, count)

    def _wake(self, channel: _Channel) -> None:
        waiters = channel.waiters
        if not waiters:  # None or empty: nobody to wake
            return
        before = len(waiters)
        wake_first(waiters)
        # wake_first drops the woken waiter and every cancelled one before it.
        self.waiting -= before - len(waiters)
