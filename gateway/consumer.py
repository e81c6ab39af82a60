"""Consumers: ASGI applications that dispatch each event to a method named after its type.

An event ``{"type": "websocket.receive", ...}`` is handled by ``websocket_receive(message)``.
One consumer instance serves one scope. It reads events from two places at once, the client
(the ASGI ``receive``) and, when ``CHANNEL_LAYERS`` is set, its own channel on the channel
layer, and handles them one at a time, in arrival order.

- :class:`AsyncConsumer` handlers are coroutines and run on the event loop: no thread per event.
- :class:`SyncConsumer` handlers are plain functions run in a worker thread through
  :func:`gateway.db.database_sync_to_async`, so they may use the Django ORM; ``send`` is sync.

Raise :class:`~gateway.exceptions.StopConsumer` from a handler to end the instance cleanly.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from asgiref.sync import async_to_sync

from gateway.db import database_sync_to_async
from gateway.exceptions import ConfigurationError, StopConsumer, UnknownEventType
from gateway.layers import DEFAULT_CHANNEL_LAYER, get_channel_layer
from gateway.utils import await_many_dispatch, name_that_thing

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
    message_type = message.get("type")
    if not isinstance(message_type, str):
        raise UnknownEventType(
            f"message has no 'type' string (got {message_type!r}): "
            "every event needs one, e.g. {'type': 'chat.message', ...}"
        )
    name = message_type.replace(".", "_")
    if name.startswith("_"):
        raise UnknownEventType(
            f"malformed message type {message_type!r} (leading underscore): "
            "types must not start with '_' or '.', so they can never name private methods"
        )
    return name


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
    channel_name: str | None = None
    base_send: Callable[[Message], Any]

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

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            consumer = cls(**initkwargs)
            await consumer(scope, receive, send)

        app.consumer_class = cls  # type: ignore[attr-defined]
        app.consumer_initkwargs = initkwargs  # type: ignore[attr-defined]
        # Take name and docstring from the class, so the app shows as the consumer in logs.
        functools.update_wrapper(app, cls, updated=())
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one scope: dispatch client and channel-layer messages until the consumer stops.

        Returns when a handler raises ``StopConsumer``; any other exception propagates to the
        server, which logs it and closes the connection.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        receivers: list[Receive] = [receive]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            receivers.append(self.channel_receive)
        self.base_send = async_to_sync(send) if self._sync else send
        try:
            await await_many_dispatch(receivers, self.dispatch)
        except StopConsumer:
            logger.debug("%s stopped", name_that_thing(self))

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
        await self._get_handler(message)(message)

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

    @database_sync_to_async
    def dispatch(self, message: Message) -> None:
        """Call the handler for ``message`` in the worker thread.

        Raises:
            UnknownEventType: no method handles this message type.
        """
        self._get_handler(message)(message)

    def send(self, message: Message) -> None:  # type: ignore[override]
        """Send an ASGI event to the client; blocks the worker thread until it is handed over."""
        self.base_send(message)
