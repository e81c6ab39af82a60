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
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from copy import deepcopy
from typing import Any, ClassVar

from gateway.clock import Clock, time_source
from gateway.exceptions import ChannelFull, ReadOnlyEntry
from gateway.layers.base import BaseChannelLayer, CapacityPattern
from gateway.layers.buffers import ChannelBuffers
from gateway.metrics import incrementer, layer_messages
from gateway.types import Message

logger = logging.getLogger(__name__)


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

    @property
    def channels(self) -> ChannelsView:
        """Channels holding messages or waiting receivers, as Channels' ``layer.channels``.

        ``"name" in layer.channels``, ``len(layer.channels)``,
        ``layer.channels["name"].qsize()``. A channel leaves it when emptied by a receive;
        expired messages are dropped lazily (on the next call that reaches them), not at once.
        Tests may drop a channel's messages with ``del``, ``pop`` or ``clear()``; see
        :class:`ChannelsView`.
        """
        return ChannelsView(self._buffers)

    @property
    def groups(self) -> GroupsView:
        """``{group: {channel: joined_at}}`` (``time.monotonic()`` seconds), as Channels'
        ``layer.groups`` (which holds ``time.time()``). Add members with ``group_add``; remove
        them with ``group_discard`` or, as tests written for Channels do, with ``del``, ``pop``
        or ``clear()`` on the group or on its members (see :class:`GroupsView`)."""
        return GroupsView(self)

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


class BufferedChannel:
    """One entry of :attr:`InMemoryChannelLayer.channels`: how many messages wait there."""

    __slots__ = ("_buffers", "name")

    def __init__(self, buffers: ChannelBuffers, name: str) -> None:
        self._buffers = buffers
        self.name = name

    def qsize(self) -> int:
        """Messages waiting (expired ones included until they are dropped)."""
        return self._buffers.pending(self.name)

    def empty(self) -> bool:
        """True when no message waits (a receiver may)."""
        return self.qsize() == 0

    def __repr__(self) -> str:
        return f"<BufferedChannel {self.name!r}: {self.qsize()} waiting>"


class ChannelsView(MutableMapping[str, BufferedChannel]):
    """``{channel: BufferedChannel}`` over the layer's buffers (no copy).

    Deleting an entry (``del``, ``pop``, ``popitem``, ``clear()``) forgets the channel's
    buffer as deleting a queue from Channels' ``layer.channels`` does: messages nobody waits
    for are gone, a receiver already woken for a message still gets it (Channels' own
    ``test_race_empty``), and a receiver still waiting keeps waiting on the forgotten buffer,
    where no later send reaches it, exactly as in Channels. The next send starts a new buffer.
    Group memberships are kept. Entries cannot be assigned.
    """

    __slots__ = ("_buffers",)

    def __init__(self, buffers: ChannelBuffers) -> None:
        self._buffers = buffers

    def __getitem__(self, name: str) -> BufferedChannel:
        if name not in self._buffers:
            raise KeyError(name)
        return BufferedChannel(self._buffers, name)

    def __setitem__(self, name: str, value: BufferedChannel) -> None:
        raise ReadOnlyEntry(
            f"cannot assign layer.channels[{name!r}]: channels are made by send() and "
            "receive(); only deleting an entry is supported"
        )

    def __delitem__(self, name: str) -> None:
        if name not in self._buffers:
            raise KeyError(name)
        self._buffers.detach(name)

    def __contains__(self, name: object) -> bool:
        return name in self._buffers

    def __iter__(self) -> Iterator[str]:
        return iter(self._buffers.names())

    def __len__(self) -> int:
        return len(self._buffers)


class GroupsView(MutableMapping[str, "GroupMembers"]):
    """``{group: GroupMembers}`` over an :class:`InMemoryChannelLayer`'s groups (no copy).

    Deleting a group (``del``, ``pop``, ``popitem``, ``clear()``) removes all its members, as
    ``group_discard`` of each would. Groups cannot be assigned: use ``group_add``.
    """

    __slots__ = ("_layer",)

    def __init__(self, layer: InMemoryChannelLayer) -> None:
        self._layer = layer

    def __getitem__(self, group: str) -> GroupMembers:
        if group not in self._layer._groups:
            raise KeyError(group)
        return GroupMembers(self._layer, group)

    def __setitem__(self, group: str, value: Mapping[str, float]) -> None:
        raise ReadOnlyEntry(
            f"cannot assign layer.groups[{group!r}]: add members with group_add(); only "
            "deleting a group or a member is supported"
        )

    def __delitem__(self, group: str) -> None:
        members = self._layer._groups.pop(group)  # KeyError when there is no such group
        for channel in members:
            self._layer._forget_membership(channel, group)

    def __contains__(self, group: object) -> bool:
        return group in self._layer._groups

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._layer._groups))

    def __len__(self) -> int:
        return len(self._layer._groups)

    def clear(self) -> None:
        """Remove every group and membership."""
        self._layer._groups.clear()
        self._layer._memberships.clear()

    def __repr__(self) -> str:
        return repr({group: dict(members) for group, members in self._layer._groups.items()})


class GroupMembers(MutableMapping[str, float]):
    """``{channel: joined_at}`` of one group of an :class:`InMemoryChannelLayer`.

    Deleting a member (``del``, ``pop``, ``clear()``) is ``group_discard``: the group
    disappears from :class:`GroupsView` with its last member. Members cannot be assigned.
    """

    __slots__ = ("_group", "_layer")

    def __init__(self, layer: InMemoryChannelLayer, group: str) -> None:
        self._layer = layer
        self._group = group

    def _members(self) -> OrderedDict[str, float]:
        # Looked up each time: the group may have been emptied and made again since.
        return self._layer._groups.get(self._group) or OrderedDict()

    def __getitem__(self, channel: str) -> float:
        return self._members()[channel]

    def __setitem__(self, channel: str, joined_at: float) -> None:
        raise ReadOnlyEntry(
            f"cannot assign layer.groups[{self._group!r}][{channel!r}]: use group_add(); "
            "only deleting a member is supported"
        )

    def __delitem__(self, channel: str) -> None:
        members = self._layer._groups.get(self._group)
        if members is None or channel not in members:
            raise KeyError(channel)
        del members[channel]
        self._layer._forget_membership(channel, self._group)
        if not members:
            del self._layer._groups[self._group]

    def __contains__(self, channel: object) -> bool:
        return channel in self._members()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._members()))

    def __len__(self) -> int:
        return len(self._members())

    def __repr__(self) -> str:
        return repr(dict(self._members()))


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
