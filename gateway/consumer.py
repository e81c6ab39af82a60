"""Consumers: ASGI applications that dispatch each event to a method named after its type.

An event ``{"type": "websocket.receive", ...}`` is handled by ``websocket_receive(message)``.
One consumer instance serves one scope. It reads events from two places at once, the client
(the ASGI ``receive``) and, when ``CHANNEL_LAYERS`` is set, its own channel on the channel
layer, and handles them one at a time, in arrival order.

- :class:`AsyncConsumer` handlers are coroutines and run on the event loop: no thread per event.
- :class:`SyncConsumer` handlers are plain functions run in a worker thread through
  :func:`gateway.db.database_sync_to_async`, so they may use the Django ORM; ``send`` is sync.

Raise :class:`~gateway.exceptions.StopConsumer` from a handler to end the instance cleanly.

A handler that fails with :class:`~gateway.exceptions.ChannelLayerUnavailable` (Redis away for
longer than the layer waits) does not end the instance: ``channel_layer_unavailable(exc)`` is
called instead, and the connection stays open (the layer logs the outage once).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar

from asgiref.sync import async_to_sync, markcoroutinefunction

from gateway.db import database_sync_to_async
from gateway.exceptions import (
    ChannelLayerUnavailable,
    ConfigurationError,
    StopConsumer,
    UnknownEventType,
)
from gateway.layers import DEFAULT_CHANNEL_LAYER, get_channel_layer
from gateway.types import ASGIApp, Message, Receive, Scope, Send
from gateway.utils import Poller, await_many_dispatch, name_that_thing

logger = logging.getLogger(__name__)

#: True in the context of an application that a test communicator runs (gateway.testing):
#: consumers then listen on their channel from the start, as Channels' do, so a test can find
#: the channel in the in-memory layer's ``channels`` and send to it without the consumer
#: having read its ``channel_name``. Elsewhere they start listening when the name is first
#: read (nobody can send to it before), which saves a wait per idle connection.
listen_from_start: ContextVar[bool] = ContextVar("gateway_listen_from_start", default=False)


def get_handler_name(message: Mapping[str, Any]) -> str:
    """Return the name of the method that handles ``message``: its type with ``.`` → ``_``.

    Args:
        message: an ASGI event or channel-layer message.

    Returns:
        e.g. ``"websocket_receive"`` for ``{"type": "websocket.receive"}``.

    Raises:
        UnknownEventType: the message has no string ``type``, or the type starts with an
            underscore or a dot (either would reach private methods).
    """
    message_type: Any = message.get("type")
    try:
        # Hot path: every event of every consumer comes through here.
        return _handler_names[message_type]
    except (KeyError, TypeError):
        pass
    if not isinstance(message_type, str):
        raise UnknownEventType(
            f"message has no 'type' string (got {message_type!r}): "
            "every event needs one, e.g. {'type': 'chat.message', ...}"
        )
    name = message_type.replace(".", "_")
    if name.startswith("_"):
        # Starts with Channels' own text, which tests written for Channels match.
        raise UnknownEventType(
            f"Malformed type in message (leading underscore): {message_type!r}; types must "
            "not start with '_' or '.', so they can never name private methods"
        )
    if len(_handler_names) < _HANDLER_NAMES_CACHED:
        _handler_names[message_type] = name
    return name


#: Message type → handler name, for the types seen so far (bounded: types are code's choice,
#: but a layer message's type could come from anywhere).
_handler_names: dict[str, str] = {}
_HANDLER_NAMES_CACHED = 1024


class AsyncConsumer:
    """Base consumer: an ASGI application that dispatches events to ``async`` methods.

    Subclass it and define one coroutine method per event type::

        class EchoConsumer(AsyncConsumer):
            async def websocket_connect(self, message):
                await self.send({"type": "websocket.accept"})

            async def websocket_receive(self, message):
                await self.send({"type": "websocket.send", "text": message["text"]})

    Route ``EchoConsumer.as_asgi()``. Attributes available in handlers: ``scope``,
    ``channel_layer`` (``None`` when ``CHANNEL_LAYERS`` is empty) and ``channel_name``
    (this instance's channel; messages sent to it are dispatched like client events).
    """

    #: True for consumers whose handlers are synchronous (run in a worker thread).
    _sync: ClassVar[bool] = False
    #: Which entry of ``CHANNEL_LAYERS`` to use.
    channel_layer_alias: str = DEFAULT_CHANNEL_LAYER

    scope: Scope
    channel_layer: Any
    base_send: Callable[[Message], Any]
    # Dispatch-loop state (see the channel_name property); class defaults keep __init__ cheap.
    _channel_name: str | None = None
    _listening: bool = False
    _receiving_directly: bool = False
    _interrupted: bool = False
    _task: asyncio.Task[Any] | None = None

    def __init__(self, **initkwargs: Any) -> None:
        """Create an instance, overriding class attributes with ``initkwargs``.

        Raises:
            ConfigurationError: a keyword is not an attribute of the class.
        """
        self._check_initkwargs(initkwargs)
        for key, value in initkwargs.items():
            setattr(self, key, value)

    @classmethod
    def _check_initkwargs(cls, initkwargs: Mapping[str, Any]) -> None:
        for key in initkwargs:
            if key.startswith("_") or not hasattr(cls, key):
                raise ConfigurationError(
                    f"{cls.__name__}.as_asgi() got an unknown keyword {key!r}: pass only names "
                    f"that are already public attributes of the class (define `{key} = ...` "
                    f"on {cls.__name__} first)"
                )

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> ASGIApp:
        """Return an ASGI application that runs one new instance of this consumer per scope.

        Like Django's ``View.as_view()``: ``initkwargs`` override class attributes on each
        instance, e.g. ``ChatConsumer.as_asgi(groups=["lobby"])``.

        Returns:
            An ASGI v3 callable with ``consumer_class`` and ``consumer_initkwargs`` attributes
            (routers and tests read them).

        Raises:
            ConfigurationError: a keyword is not an attribute of the class (checked now, not
                at the first connection).
        """
        cls._check_initkwargs(initkwargs)

        # A plain function returning the instance's coroutine, marked as a coroutine function:
        # no frame of its own stays alive for the whole connection.
        def app(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
            return cls(**initkwargs)(scope, receive, send)

        markcoroutinefunction(app)
        app.consumer_class = cls  # type: ignore[attr-defined]
        app.consumer_initkwargs = initkwargs  # type: ignore[attr-defined]
        # Take name and docstring from the class, so the app shows as the consumer in logs.
        functools.update_wrapper(app, cls, updated=())
        return app

    @property
    def channel_name(self) -> str | None:
        """This instance's channel on the channel layer (``None`` without a layer).

        The name exists from the start, as in Channels. The consumer listens on it from the
        moment it is first read (a handler passing it to ``group_add`` or ``send``, say):
        until then nobody can send to it, so the consumer waits on the client alone and
        spends no task on a channel-layer receive (docs/performance.md).
        """
        if not self._listening and self._channel_name is not None:
            self._start_listening()
        return self._channel_name

    @channel_name.setter
    def channel_name(self, value: str | None) -> None:
        self._channel_name = value

    def _start_listening(self) -> None:
        self._listening = True
        if self._receiving_directly and self._task is not None:
            # Read from outside a handler while the dispatch loop waits on the client alone:
            # interrupt that wait so the loop starts waiting on the channel too. The call may
            # come from another thread, so go through the loop.
            self._task.get_loop().call_soon_threadsafe(self._interrupt_direct_receive)

    def _interrupt_direct_receive(self) -> None:
        if self._receiving_directly and self._task is not None:
            self._interrupted = True
            self._task.cancel()

    def _was_interrupted(self) -> bool:
        """After a CancelledError in the direct receive: True if it was only our interruption."""
        if not self._interrupted:
            return False
        self._interrupted = False
        # uncancel() > 0: somebody else cancelled this task too, and that must go on.
        return self._task.uncancel() == 0  # type: ignore[union-attr]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one scope: dispatch client and channel-layer messages until the consumer stops.

        Returns when a handler raises ``StopConsumer``; any other exception propagates to the
        server, which logs it and closes the connection.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        if self.channel_layer is not None:
            self._channel_name = await self.channel_layer.new_channel()
            if listen_from_start.get():
                self._listening = True
        self.base_send = async_to_sync(send) if self._sync else send
        self._task = asyncio.current_task()
        try:
            # Until the channel name is read nobody can send to the channel: wait on the client
            # alone, in this task (inlined rather than a method: one frame less per connection).
            while not self._listening:
                self._receiving_directly = True
                try:
                    message = await receive()
                except asyncio.CancelledError:
                    if self._was_interrupted():
                        # ASGI receive callables are queues: an event that had arrived is
                        # still there for the next call.
                        break
                    raise
                finally:
                    self._receiving_directly = False
                await self.dispatch(message)
            poller = self._channel_poller()
            if poller is not None:
                # The layer can be polled: the channel is read in this task, no hand-off.
                await await_many_dispatch([receive], self.dispatch, pollers=(poller,))
            else:
                # The channel is read ahead (one message): a task switch less per message.
                await await_many_dispatch(
                    [receive, self.channel_receive], self.dispatch, read_ahead=(1,)
                )
        except StopConsumer:
            logger.debug("%s stopped", name_that_thing(self))

    def _channel_poller(self) -> Poller | None:
        # A subclass that overrides channel_receive wants it called: keep the receive pump.
        layer = self.channel_layer
        overridden = type(self).channel_receive is not AsyncConsumer.channel_receive
        if overridden or "poll" not in getattr(layer, "extensions", ()):
            return None
        return layer.poller(self._channel_name)  # type: ignore[no-any-return]

    async def channel_receive(self) -> Message:
        """Wait for the next message on this instance's channel (the dispatch loop calls it)."""
        return await self.channel_layer.receive(self._channel_name)  # type: ignore[no-any-return]

    def _get_handler(self, message: Mapping[str, Any]) -> Callable[[Message], Any]:
        """Return the bound handler method for ``message``, or raise UnknownEventType."""
        name = get_handler_name(message)
        handler = getattr(self, name, None)
        if handler is None or not callable(handler):
            keyword = "def" if self._sync else "async def"
            raise UnknownEventType(
                f"no handler for message type {message['type']!r} on "
                f"{name_that_thing(type(self))}: define `{keyword} {name}(self, message)` "
                "to handle it"
            )
        return handler  # type: ignore[no-any-return]

    async def dispatch(self, message: Message) -> None:
        """Call the handler for ``message`` on the event loop (no thread hop).

        Raises:
            UnknownEventType: no method handles this message type.
        """
        try:
            await self._get_handler(message)(message)
        except ChannelLayerUnavailable as exc:
            await self.channel_layer_unavailable(exc)

    async def channel_layer_unavailable(self, exc: ChannelLayerUnavailable) -> None:
        """A handler failed because the channel layer's server stayed unreachable.

        The instance keeps running; the layer logged the outage once. Override to tell the
        client (the web chat sends ``{"type": "status", "state": "reconnecting"}``) and to
        retry what failed once the layer answers.
        """
        logger.debug("%s: %s", name_that_thing(self), exc)

    async def send(self, message: Message) -> None:
        """Send an ASGI event to the client (override to post-process outgoing events)."""
        await self.base_send(message)


class SyncConsumer(AsyncConsumer):
    """Consumer whose handlers are plain functions, run in a worker thread.

    Handlers may block and use the Django ORM: each one runs through
    :func:`~gateway.db.database_sync_to_async`, which closes stale database connections before
    and after. ``self.send(message)`` is synchronous here.
    """

    _sync = True

    async def dispatch(self, message: Message) -> None:
        """Call the handler for ``message`` in the worker thread.

        Raises:
            UnknownEventType: no method handles this message type.
        """
        try:
            await self._dispatch_in_thread(message)
        except ChannelLayerUnavailable as exc:
            await self.channel_layer_unavailable(exc)

    @database_sync_to_async
    def _dispatch_in_thread(self, message: Message) -> None:
        self._get_handler(message)(message)

    def send(self, message: Message) -> None:  # type: ignore[override]
        """Send an ASGI event to the client; blocks the worker thread until it is handed over."""
        self.base_send(message)
