"""Every exception the gateway raises, in one tree.

::

    GatewayError
    ├── ConfigurationError (also ValueError)      settings or arguments are wrong: fix the config
    │   ├── InvalidChannelLayerError               CHANNEL_LAYERS names a backend that can't be used
    │   ├── AdapterNotConfigured                   an adapter lacks its broker/token/TNC setting
    │   ├── SerializerDoesNotExist (also KeyError)  no serializer registered for a format
    │   ├── InvalidSerializer (also AssertionError) a class that cannot serialize was registered
    │   ├── InvalidCookieSetting (also AssertionError)  a cookie attribute (SameSite) is unknown
    │   ├── SerializerUnavailable (also ImportError)  a registered serializer's library is missing
    │   └── UnsupportedDependency (also ImportError)  a pinned library whose privates we use changed
    ├── ChannelFull                                a channel is full: the message was not sent
    ├── ChannelLayerUnavailable (also ConnectionError)  the layer's server stayed unreachable
    ├── MessageTooLarge                            a message is larger than the layer accepts
    ├── UnknownEventType (also ValueError)         a consumer has no handler for an event type
    ├── NoRouteFound (also ValueError)             no route matched a scope
    │   └── ScopeKeyMissing (also KeyError)         the scope lacks the key a router needs
    ├── InvalidInput (also ValueError)             user input (nickname, room, text) is refused
    ├── ProtocolError
    │   ├── LocalProtocolError                     our caller broke the API (a bug in the caller)
    │   │   ├── InvalidState (also AssertionError)
    │   │   ├── InvalidChannelName (also TypeError)  a channel/group name breaks the naming rules
    │   │   │   └── ForeignChannel (also AssertionError)  receive on another process's channel
    │   │   ├── InvalidMessage (also TypeError)      a layer message is not a serializable dict
    │   │   └── ReadOnlyEntry (also TypeError)       assignment to a layer's channels/groups view
    │   └── RemoteProtocolError                    the peer sent something invalid
    │       ├── UnexpectedMessage (also AssertionError)  a test communicator got the wrong message
    │       └── UnexpectedFrame (also ValueError)        a JSON consumer got a binary frame
    ├── RequestAborted / RequestTimeout            HTTP consumers: the client went away / too slow
    ├── SessionDeleted (also SessionInterrupted, SuspiciousOperation)  deleted mid-request
    ├── ScopeClosed                                the scope ended before the event was handled
    ├── ApplicationCancelled (also CancelledError)  a test communicator's application was cancelled
    ├── RetryAfter                                 the peer asked us to wait (429): pause, resend
    ├── OutboxClosed                               an outbound queue closed before the item left
    └── control flow, as in Channels: StopConsumer, AcceptConnection, DenyConnection

The names Django Channels users know (StopConsumer, ChannelFull, DenyConnection, ...) keep their
meaning; they are just rooted in GatewayError so ``except GatewayError`` catches them all.
"""

from __future__ import annotations

import asyncio

from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import SuspiciousOperation


class GatewayError(Exception):
    """Base class of every exception the gateway raises."""


class ConfigurationError(GatewayError, ValueError):
    """Settings or arguments are wrong; the message says which and what to set."""


class InvalidChannelLayerError(ConfigurationError):
    """CHANNEL_LAYERS names a layer that is missing or cannot be built."""


class AdapterNotConfigured(ConfigurationError):
    """An adapter cannot run because its settings (broker, token, TNC) are missing."""


class SerializerDoesNotExist(ConfigurationError, KeyError):
    """No serializer is registered for the requested format (KeyError, as in channels_redis)."""

    # KeyError would show the message quoted, as if it were a missing key's repr.
    __str__ = BaseException.__str__


class InvalidSerializer(ConfigurationError, AssertionError):
    """A serializer class without serialize/deserialize was registered.

    Also an AssertionError: channels_redis asserts here, and its users' tests catch that.
    """


class SerializerUnavailable(ConfigurationError, ImportError):
    """The serializer of the requested format needs a library that is not installed (a
    ``MissingSerializer`` placeholder was registered). An ImportError too, as channels_redis
    raises the ImportError itself."""


class InvalidCookieSetting(ConfigurationError, AssertionError):
    """A cookie attribute setting has a value browsers do not know (SESSION_COOKIE_SAMESITE).

    Also an AssertionError: Channels asserts here, and its users' tests catch that.
    """


class UnsupportedDependency(ConfigurationError, ImportError):
    """A library whose private internals a module uses is not the version that module supports
    (gateway/versions.py); the message names both versions and what to do."""


class ChannelFull(GatewayError):
    """The channel is at its capacity; the message was not sent. Try again later or drop it."""


class ChannelLayerUnavailable(GatewayError, ConnectionError):
    """The channel layer's server (Redis) stayed unreachable for the whole retry period."""


class MessageTooLarge(GatewayError):
    """The message is larger than the channel layer or the peer accepts."""


class UnknownEventType(GatewayError, ValueError):
    """A consumer received an event type it has no handler method for."""


class NoRouteFound(GatewayError, ValueError):
    """No route matched the scope (path, topic, channel name or protocol type)."""


class ScopeKeyMissing(NoRouteFound, KeyError):
    """The scope lacks the key a router picks by (``type``, ``channel``).

    Also a KeyError: Channels' routers raise KeyError there, and its callers catch it.
    """

    __str__ = BaseException.__str__


class InvalidInput(GatewayError, ValueError):
    """User input (a nickname, a room name, a message) is not acceptable; the message says why."""


class ProtocolError(GatewayError):
    """A protocol was violated. Use a subclass that says whose fault it is."""


class LocalProtocolError(ProtocolError):
    """Our caller broke the protocol API (sent an event out of order, bad arguments): a bug."""


class InvalidState(LocalProtocolError, AssertionError):
    """An operation was attempted in a state that does not allow it."""


class InvalidChannelName(LocalProtocolError, TypeError):
    """A channel or group name breaks a naming rule (TypeError, as in Channels)."""


class ForeignChannel(InvalidChannelName, AssertionError):
    """A process-local channel made by another process (or layer instance) was given to
    ``receive()``: only the process that made it with ``new_channel()`` can receive on it.
    Also an AssertionError, as channels_redis asserts there."""


class InvalidMessage(LocalProtocolError, TypeError):
    """A channel layer message is not a dict the layer can serialize (TypeError, as in Channels)."""


class ReadOnlyEntry(LocalProtocolError, TypeError):
    """An in-memory layer's ``channels``/``groups`` view was assigned to: they accept deletion
    only; channels and memberships are made by send/receive and group_add."""


class RemoteProtocolError(ProtocolError):
    """The peer sent data that breaks the protocol. Log it and drop the connection."""


class UnexpectedMessage(RemoteProtocolError, AssertionError):
    """A test communicator got another message than the one it waits for.

    Also an AssertionError: Channels' communicators assert there, and tests catch that.
    """


class UnexpectedFrame(RemoteProtocolError, ValueError):
    """The client sent a frame the consumer cannot take (a binary frame to a JSON consumer).

    Also a ValueError: Channels raises ValueError there, and tests written for it catch that.
    """


class ApplicationCancelled(GatewayError, asyncio.CancelledError):
    """A test communicator's application was cancelled (a receive timed out, or stop()).

    Also an ``asyncio.CancelledError``, which is what Channels' communicators raise when a test
    talks to an application that a timeout cancelled.
    """


class ScopeClosed(GatewayError):
    """The scope's application instance ended before it handled the event (or was already gone).

    The event was not processed: deliver it to a new scope, or drop it.
    """


class RetryAfter(GatewayError):
    """The peer asked us to wait before sending again (HTTP 429 ``retry_after``).

    Raise it from a :class:`~gateway.pacing.PacedSender` ``transmit`` callable: the sender
    pauses (the item's key only, or everything) and sends the same item again afterwards.

    Args:
        seconds: how long the peer asked us to wait.
        key_only: the limit is the key's own (one chat), not the whole connection's.
    """

    def __init__(self, seconds: float, *, key_only: bool = False, message: str = "") -> None:
        self.seconds = float(seconds)
        self.key_only = key_only
        super().__init__(
            message or f"the peer asked us to wait {self.seconds:g}s before sending again"
        )


class OutboxClosed(GatewayError):
    """An outbound queue was closed before the item was sent (or while it was being sent).

    Items kept elsewhere (a durable outbox) should be sent again after the restart.
    """


class RequestAborted(GatewayError):
    """The client went away before the request was complete."""


class SessionDeleted(GatewayError, SessionInterrupted, SuspiciousOperation):
    """The session was deleted while a request used it (a concurrent logout), so it could not
    be saved. Django's ``SessionInterrupted`` (what its SessionMiddleware raises) and also a
    ``SuspiciousOperation``, which Channels raises there: handlers and tests written for either
    catch it."""


class RequestTimeout(RequestAborted):
    """The client took too long to send the request body."""


class StopConsumer(GatewayError):
    """Raise from a consumer handler to end the consumer cleanly (as in Channels)."""


class AcceptConnection(GatewayError):
    """Raise during a connect handler to accept the connection (as in Channels)."""


class DenyConnection(GatewayError):
    """Raise during a connect handler to reject the connection (as in Channels)."""
