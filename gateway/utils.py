"""Small helpers shared by consumers: naming things for messages, and the dispatch loop.

``await_many_dispatch`` is the heart of every consumer: it waits on several receive callables at
once (the client's ``receive`` and the channel layer's ``receive``) and hands each message, one at
a time, to a dispatch coroutine.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: Header pairs as ASGI wants them: a list of ``(name, value)`` byte strings.
HeaderList = list[tuple[bytes, bytes]]
#: What our APIs accept for headers: pairs (bytes or str) or a mapping of them.
Headers = Iterable[tuple[bytes | str, bytes | str]] | Mapping[bytes | str, bytes | str]


def name_that_thing(thing: Any) -> str:
    """Return a dotted name for a class, function or method, or the class name of an instance.

    Used in error messages and logs, so it never raises.

    Args:
        thing: a class, a function, a bound method, or any object.

    Returns:
        ``"module.Qualified.name"`` for classes, functions and methods; the name of the
        object's class for other objects; ``repr(thing)`` as a last resort.
    """
    if inspect.ismethod(thing):
        # A bound method: name it through the class it is bound to, not the instance.
        owner = thing.__self__ if inspect.isclass(thing.__self__) else type(thing.__self__)
        return f"{name_that_thing(owner)}.{thing.__name__}"
    if inspect.isclass(thing) or inspect.isfunction(thing) or inspect.isbuiltin(thing):
        module = getattr(thing, "__module__", None)
        name = getattr(thing, "__qualname__", None) or getattr(thing, "__name__", None)
        if name is None:
            return repr(thing)
        return f"{module}.{name}" if module else name
    if hasattr(thing, "__class__"):
        return name_that_thing(type(thing))
    return repr(thing)


def header_list(headers: Headers | None) -> HeaderList:
    """Turn headers given as a mapping or as pairs, in bytes or str, into ASGI header pairs.

    Args:
        headers: ``None``, a mapping, or an iterable of ``(name, value)`` pairs. ``str`` items are
            encoded as Latin-1, the HTTP header charset.

    Returns:
        A new list of ``(bytes, bytes)`` pairs.
    """
    if headers is None:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(_header_bytes(name), _header_bytes(value)) for name, value in pairs]


def _header_bytes(value: bytes | str) -> bytes:
    return value.encode("latin-1") if isinstance(value, str) else bytes(value)


class Poller(Protocol):
    """A message source read without a task: polled, and watched while nothing is there."""

    def poll(self) -> tuple[bool, Any]:
        """Return ``(True, message)`` when one is there, else ``(False, None)``."""

    def watch(self, waiter: asyncio.Future[None]) -> None:
        """Set ``waiter``'s result when a message may be there."""

    def unwatch(self, waiter: asyncio.Future[None]) -> None:
        """Forget ``waiter`` (it has woken, or the wait was cancelled)."""


async def await_many_dispatch(
    consumer_callables: Sequence[Callable[[], Awaitable[Any]]],
    dispatch: Callable[[Any], Awaitable[Any]],
    *,
    read_ahead: Collection[int] = (),
    pollers: Sequence[Poller] = (),
) -> None:
    """Wait on several receive callables at once and dispatch their results one at a time.

    Each callable is called again only once ``dispatch`` has returned for its previous
    message (the ASGI server's flow control and the runtime's "handled" rely on that), unless
    its index is in ``read_ahead``: those are called again as soon as their message has been
    handed over, so at most one message waits per callable. Messages that are ready at the same
    time are dispatched round-robin in the order of ``consumer_callables``. Dispatch is
    sequential: a slow handler delays the next message of the same consumer, never another
    consumer.

    Returns when ``dispatch`` raises (``StopConsumer`` included, which the caller catches) or
    a receive callable raises. Either way every pending receive is cancelled and awaited before
    the exception propagates, so no task outlives the consumer (a message read ahead and not
    dispatched yet is dropped, like a message a cancelled receive had already taken).

    Args:
        consumer_callables: coroutine functions taking no arguments, e.g. ``[receive,
            channel_receive]``.
        dispatch: coroutine function called with each message.
        read_ahead: indices of callables that may be called before their previous message
            has been dispatched (a channel layer's receive: it saves a task switch per message).
        pollers: sources read in the dispatching task itself, after the callables in each
            round (an in-memory layer's channel: no task, no hand-off per message, and
            nothing read ahead is dropped when the consumer stops).
    """
    if len(consumer_callables) == 1 and not read_ahead and not pollers:
        # One source needs no task at all: await it in the caller's task.
        receive = consumer_callables[0]
        while True:
            await dispatch(await receive())
    await _Pumps(consumer_callables, read_ahead, pollers).run(dispatch)


class _Pumps:
    """One long-lived task per receive callable, handing messages to the dispatching task.

    Cheaper than a new task per message (as Channels does): a message costs two future
    hand-offs (pump → dispatcher, dispatcher → pump), one for a read-ahead pump whose
    dispatcher keeps up, and no task creation.
    """

    def __init__(
        self,
        receivers: Sequence[Callable[[], Awaitable[Any]]],
        read_ahead: Collection[int],
        pollers: Sequence[Poller] = (),
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.receivers = receivers
        self.pollers = pollers
        self.read_ahead = [index in read_ahead for index in range(len(receivers))]
        # Per source: the message handed over and not taken yet (_EMPTY if none), and the
        # future its pump waits on: until that message has been dispatched, or for a
        # read-ahead pump holding the next message, until the slot has been taken.
        self.ready: list[Any] = [_EMPTY] * len(receivers)
        self.acks: list[asyncio.Future[None] | None] = [None] * len(receivers)
        self.wakeup: asyncio.Future[None] | None = None

    def _wake(self, _: object = None) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)

    def _release(self, index: int) -> None:
        ack = self.acks[index]
        if ack is not None and not ack.done():
            ack.set_result(None)

    async def _pump(self, index: int) -> None:
        receive = self.receivers[index]
        read_ahead = self.read_ahead[index]
        ready = self.ready
        create_future = self.loop.create_future
        while True:
            message = await receive()
            if read_ahead:
                if ready[index] is not _EMPTY:  # the previous one has not been taken yet
                    ack = self.acks[index] = create_future()
                    await ack
                ready[index] = message
                self._wake()
            else:
                ready[index] = message
                ack = self.acks[index] = create_future()
                self._wake()
                await ack

    async def run(self, dispatch: Callable[[Any], Awaitable[Any]]) -> None:
        pumps = [asyncio.ensure_future(self._pump(index)) for index in range(len(self.receivers))]
        for pump in pumps:
            # A pump only ends by raising: wake the dispatcher so it re-raises the error.
            pump.add_done_callback(self._wake)
        ready, read_ahead = self.ready, self.read_ahead
        try:
            while True:
                dispatched = False
                for index, pump in enumerate(pumps):
                    message = ready[index]
                    if message is not _EMPTY:
                        ready[index] = _EMPTY
                        if read_ahead[index]:
                            self._release(index)
                            await dispatch(message)
                        else:
                            await dispatch(message)
                            self._release(index)
                        dispatched = True
                    elif pump.done():
                        pump.result()  # raises the receive callable's exception
                for poller in self.pollers:
                    found, message = poller.poll()
                    if found:
                        await dispatch(message)
                        dispatched = True
                if not dispatched:
                    await self._wait()
        finally:
            await _cancel_all(pumps)

    async def _wait(self) -> None:
        """Park until a pump hands a message over or a poller may have one."""
        wakeup = self.wakeup = self.loop.create_future()
        for poller in self.pollers:
            poller.watch(wakeup)
        try:
            await wakeup
        finally:
            for poller in self.pollers:
                poller.unwatch(wakeup)


#: Marks an empty hand-over slot (``None`` could be a message).
_EMPTY: Any = object()


async def _cancel_all(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Cancel the tasks and wait for them, without swallowing our own cancellation."""
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    # asyncio.wait never raises the tasks' exceptions, but does raise if *we* are cancelled
    # while waiting, which is what must happen then.
    await asyncio.wait(tasks)
    for task in tasks:
        # Retrieve each outcome so asyncio does not log "exception was never retrieved"; the
        # exception that stopped the loop has already been raised by task.result().
        if not task.cancelled():
            task.exception()
