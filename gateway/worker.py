"""Background workers: consumers on fixed channel names fed from the channel layer (runworker).

For each channel name a listener loop awaits ``channel_layer.receive(name)`` and delivers the
message to one application instance for the scope ``{"type": "channel", "channel": name}``,
run by the shared :class:`~gateway.runtime.ApplicationRuntime`. The project's ASGI application
routes those scopes with ``ChannelNameRouter`` under "channel" in ``ProtocolTypeRouter``.

As in Channels, the instance for a channel lives as long as the worker (no idle timeout) and
sees that channel's messages in order, one at a time: the next message is taken from the layer
only once the previous one is handled, so unhandled messages stay in the layer. Different
channels run concurrently. Unlike Channels, a message without a "type" is logged and dropped
instead of ending the worker, and an instance that raised is replaced by a new one for the next
message (the runtime logged the error).

Messages go to their channel's scope with the runtime's ``deliver_by_key_wait``: the runtime
opens the scope when there is none and gives a message whose instance ended before taking it
to a new instance (at most :data:`ATTEMPTS`; then it is dropped, logged and counted in
``gateway_events_dropped_total{protocol="channel",reason="scope_closed"}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Iterable
from typing import Any

from gateway.exceptions import LocalProtocolError
from gateway.runtime import ApplicationRuntime, ScopeSpec
from gateway.types import ASGIApp, Message

logger = logging.getLogger(__name__)

PROTOCOL = "channel"
#: How many instances may end before taking a message until it is dropped.
ATTEMPTS = 3


async def _no_send(message: Message) -> None:
    raise LocalProtocolError(
        f"a worker's consumer cannot send {message.get('type')!r} to a client: it has none; "
        "use self.channel_layer.send() or group_send() instead"
    )


class Worker:
    """Feeds messages from channel-layer channels to their consumers.

    Args:
        application: the ASGI application (``settings.ASGI_APPLICATION``).
        channels: the channel names to listen on.
        channel_layer: the layer to receive from (``get_channel_layer(alias)``).
        shutdown_timeout: how long running handlers get to finish on shutdown.

    Raises:
        ValueError: no channel names were given.
    """

    def __init__(
        self,
        application: ASGIApp,
        channels: Iterable[str],
        channel_layer: Any,
        *,
        shutdown_timeout: float = 25.0,
    ) -> None:
        self.application = application
        self.channels = list(dict.fromkeys(channels))
        if not self.channels:
            raise ValueError("a worker needs at least one channel name to listen on")
        self.channel_layer = channel_layer
        self.shutdown_timeout = shutdown_timeout
        self.runtime: ApplicationRuntime | None = None
        self._openers = {
            channel: functools.partial(self._opener, channel) for channel in self.channels
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Receive and dispatch until ``stop`` is set, then let handlers finish and return.

        Raises:
            Exception: whatever the channel layer raised in a listener (e.g. Redis is gone),
                after the other listeners and the instances have been shut down.
        """
        self.runtime = ApplicationRuntime(
            self.application,
            PROTOCOL,
            queue_size=1,
            max_in_flight=len(self.channels),
            shutdown_timeout=self.shutdown_timeout,
            max_attempts=ATTEMPTS,
        )
        listeners = [
            asyncio.create_task(self._listen(channel), name=f"worker listener {channel}")
            for channel in self.channels
        ]
        stopping = asyncio.create_task(stop.wait(), name="worker stop")
        logger.info("worker: listening on %s", ", ".join(self.channels))
        try:
            await asyncio.wait([*listeners, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            for listener in listeners:
                listener.cancel()
            await asyncio.wait(listeners)
            await self.runtime.shutdown()
        for listener in listeners:
            error = None if listener.cancelled() else listener.exception()
            if error is not None:
                raise error
        logger.info("worker: stopped")

    async def _listen(self, channel: str) -> None:
        receive = self.channel_layer.receive
        while True:
            message = await receive(channel)
            if not isinstance(message, dict) or "type" not in message:
                logger.error(
                    "worker: dropped a message on channel %r without a 'type' key (every "
                    "channel message needs one, e.g. {'type': 'thumbnail.generate', ...}): %.200r",
                    channel,
                    message,
                )
                continue
            await self._deliver(channel, message)

    async def _deliver(self, channel: str, message: Message) -> None:
        """Hand ``message`` to the channel's instance and wait until it has been handled.

        Waiting keeps the messages not yet handled in the layer (where another worker process
        can take them) instead of in this process's memory.
        """
        assert self.runtime is not None
        handled = await self.runtime.deliver_by_key_wait(channel, message, self._openers[channel])
        # A handler that raised, or a message dropped after ATTEMPTS instances: the runtime
        # logged it; the next message goes to a new instance. Redelivering would loop forever.
        with contextlib.suppress(Exception):
            await handled

    def _opener(self, channel: str) -> ScopeSpec:
        return ScopeSpec({"type": PROTOCOL, "channel": channel}, _no_send, idle_timeout=None)
