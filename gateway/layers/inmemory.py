"""InMemoryChannelLayer: the channel layer of one process, as Channels' in-memory layer.

Use it for tests and for ``runadapter all`` (every adapter in one process). Messages are
copied on send, so a receiver never shares mutable state with the sender: a message
whose values are all immutable scalars gets a shallow ``dict`` copy (nothing inside it can
change), any other a ``deepcopy``. ``group_send`` makes that decision once, not per member.

Unlike Channels' in-memory layer, no call scans all channels or groups: send, receive,
new_channel and group_send cost the same whatever the number of other channels and groups
(see :mod:`gateway.layers.buffers`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any, ClassVar

from gateway.clock import Clock, time_source
from gateway.exceptions import ChannelFull
from gateway.layers.base import BaseChannelLayer, CapacityPattern
from gateway.layers.buffers import ChannelBuffers
from gateway.metrics import incrementer, layer_messages

logger = logging.getLogger(__name__)

Message = dict[str, Any]

# Exact types only: a subclass of str could carry mutable attributes, so it gets deepcopy.
_IMMUTABLE_SCALARS = frozenset({str, bytes, int, float, bool, type(None)})


def message_copier(message: Message) -> Callable[[Message], Message]:
    """Return the cheapest function that copies ``message`` with nothing shared but immutables.

    ``dict`` when every value is an immutable scalar (str, bytes, int, float, bool, None):
    the copy then shares only values nobody can change, as ``deepcopy`` would in effect.
    ``deepcopy`` otherwise (lists, dicts, any other object).
    """
    for value in message.values():
        if type(value) not in _IMMUTABLE_SCALARS:
            return deepcopy
    return dict


class InMemoryChannelLayer(BaseChannelLayer):
    """A channel layer inside one process (extensions "groups", "flush" and "poll").

    Args:
        expiry: seconds a message waits unread before it is dropped. A channel whose message
            expires unread is also removed from its groups (its consumer is gone), as in Channels.
        group_expiry: seconds a group membership lasts unless renewed by ``group_add``.
        capacity: default number of messages a channel holds; ``send`` then raises ChannelFull.
        channel_capacity: ``{glob or regex: capacity}`` per channel name.
        clock: the clock of message and group expiry (tests pass a
            :class:`~gateway.clock.FakeClock`); None: the monotonic clock, which every event
            loop of the process shares (the layer may be used from several, via async_to_sync).
    """

    #: "poll": :meth:`receive_nowait` and :meth:`poller` (ours, not Channels').
    extensions: ClassVar[list[str]] = ["groups", "flush", "poll"]

    def __init__(
        self,
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: Mapping[CapacityPattern, int] | None = None,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            expiry=expiry, capacity=capacity, channel_capacity=channel_capacity, **kwargs
        )
        self.group_expiry = group_expiry
        self._time = time_source(clock)
        self._buffers = ChannelBuffers(clock=self._time, on_expired=self._channel_expired)
        # group -> {channel: joined_at}, oldest first, so expired members sit at the front.
        self._groups: dict[str, OrderedDict[str, float]] = {}
        # channel -> its groups, so an expired channel leaves its groups without a scan.
        self._memberships: dict[str, set[str]] = {}
        self._sent = incrementer(layer_messages("inmemory", "send"))
        self._received = incrementer(layer_messages("inmemory", "receive"))
        self._group_sent = incrementer(layer_messages("inmemory", "group_send"))

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send a message to a channel.

        Raises:
            InvalidChannelName, InvalidMessage: bad name or message (before anything is stored).
            ChannelFull: the channel holds its capacity of unread messages.
        """
        self.require_valid_message(message)
        self.require_valid_channel_name(channel)
        self._buffers.put(
            channel,
            message_copier(message)(message),
            self._time() + self.expiry,
            self.get_capacity(channel),
        )
        self._sent(1)

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on ``channel`` (a normal or a process-local name).

        Cancelling the call loses no message: the next receive gets it.
        """
        self.require_valid_channel_name(channel)
        message: dict[str, Any] = await self._buffers.get(channel)
        self._received(1)
        return message

    def receive_nowait(self, channel: str) -> tuple[bool, Message | None]:
        """Return ``(True, message)`` when one waits on ``channel``, else ``(False, None)``."""
        found, message = self._buffers.get_nowait(channel)
        if found:
            self._received(1)
        return found, message

    def poller(self, channel: str) -> ChannelPoller:
        """Return a :class:`ChannelPoller`: ``channel`` read without a task of its own.

        A consumer passes it to :func:`gateway.utils.await_many_dispatch` (``pollers``) to
        wait on its channel and its client in one task: no task parked in :meth:`receive`,
        so one hand-off per message less. Not part of Channels' layer API.

        Raises:
            InvalidChannelName: ``channel`` is not a valid channel name.
        """
        self.require_valid_channel_name(channel)
        return ChannelPoller(self._buffers, channel, self._received)

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new process-local channel name, e.g. ``specific.inmemory!3f9a...``."""
        name = f"{prefix.rstrip('.')}.inmemory!{secrets.token_hex(8)}"
        self.require_valid_channel_name(name)
        return name

    async def flush(self) -> None:
        """Drop every message and every group. Receivers already waiting keep waiting."""
        self._buffers.clear()
        self._groups.clear()
        self._memberships.clear()

    async def close(self) -> None:
        """Nothing to release: the layer lives in process memory (as in Channels)."""

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``, or renew its membership for another group_expiry."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        now = self._time()
        members = self._groups.get(group)
        if members is None:
            members = self._groups[group] = OrderedDict()
        members.pop(channel, None)
        members[channel] = now
        self._memberships.setdefault(channel, set()).add(group)
        self._drop_expired_members(group, members, now)

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; nothing happens if it was not a member."""
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        members = self._groups.get(group)
        if members is not None and members.pop(channel, None) is not None:
            self._forget_membership(channel, group)
            if not members:
                del self._groups[group]

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send a copy of ``message`` to every channel of ``group``.

        Members at capacity are skipped (logged at DEBUG with their count), as in Channels.
        """
        self.require_valid_message(message)
        self.require_valid_group_name(group)
        self._group_sent(1)
        members = self._groups.get(group)
        if not members:
            return
        now = self._time()
        self._drop_expired_members(group, members, now)
        expires_at = now + self.expiry
        copy = message_copier(message)
        put = self._buffers.put
        # Without per-channel patterns every member has the default capacity: no lookup each.
        capacity = None if self.channel_capacity else self.capacity
        full = 0
        for channel in list(members):
            try:
                put(
                    channel,
                    copy(message),
                    expires_at,
                    capacity or self.get_capacity(channel),
                    now,
                )
            except ChannelFull:
                full += 1
        if full:
            logger.debug("group_send to %r: %d member(s) over capacity skipped", group, full)

    def _drop_expired_members(
        self, group: str, members: OrderedDict[str, float], now: float
    ) -> None:
        cutoff = now - self.group_expiry
        while members:
            channel, joined_at = next(iter(members.items()))
            if joined_at > cutoff:
                break
            del members[channel]
            self._forget_membership(channel, group)
        if not members:
            self._groups.pop(group, None)

    def _forget_membership(self, channel: str, group: str) -> None:
        groups = self._memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self._memberships[channel]

    def _channel_expired(self, channel: str, count: int) -> None:
        # A message expired unread: the consumer is gone, so it leaves its groups (Channels).
        for group in self._memberships.pop(channel, ()):
            members = self._groups.get(group)
            if members is not None:
                members.pop(channel, None)
                if not members:
                    del self._groups[group]


class ChannelPoller:
    """One channel of an :class:`InMemoryChannelLayer`, polled by the task that dispatches it.

    Implements :class:`gateway.utils.Poller`; get one from :meth:`InMemoryChannelLayer.poller`.
    """

    __slots__ = ("_buffers", "_count", "channel")

    def __init__(self, buffers: ChannelBuffers, channel: str, count: Callable[[float], None]):
        self._buffers = buffers
        self._count = count
        self.channel = channel

    def poll(self) -> tuple[bool, Any]:
        """Return ``(True, message)`` when one is buffered, else ``(False, None)``."""
        found, message = self._buffers.get_nowait(self.channel)
        if found:
            self._count(1)
        return found, message

    def watch(self, waiter: asyncio.Future[None]) -> None:
        """Set ``waiter``'s result when a message arrives; call :meth:`unwatch` after."""
        self._buffers.watch(self.channel, waiter)

    def unwatch(self, waiter: asyncio.Future[None]) -> None:
        """Forget ``waiter`` (woken or not)."""
        self._buffers.unwatch(self.channel, waiter)
