"""SIGTERM/SIGINT handling for the gateway's commands (runadapter, runworker).

The first signal asks for a graceful shutdown (sets the stop event); a second one forces exit
(calls ``force``, which cancels everything). The process's original handlers are put back on
exit, as uvicorn does, so code that runs after the loop sees the usual behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)

T = TypeVar("T")


class ShutdownSignals:
    """Context manager that turns SIGTERM/SIGINT into a stop event, and a second one into ``force``.

    Use inside the running loop::

        stop = asyncio.Event()
        with ShutdownSignals(stop, force=main_task.cancel):
            await serve(stop)

    Args:
        stop: set on the first signal.
        force: called on the second signal (e.g. cancel the main task).

    Attributes:
        received: the signals received so far, in order.
    """

    def __init__(self, stop: asyncio.Event, force: Callable[[], Any]) -> None:
        self.stop = stop
        self.force = force
        self.received: list[signal.Signals] = []
        self._originals: dict[signal.Signals, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> ShutdownSignals:
        self._loop = asyncio.get_running_loop()
        for sig in HANDLED_SIGNALS:
            self._originals[sig] = signal.getsignal(sig)
            self._loop.add_signal_handler(sig, self.handle, sig)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._loop is not None
        for sig, original in self._originals.items():
            self._loop.remove_signal_handler(sig)
            signal.signal(sig, original)
        self._originals.clear()

    def handle(self, sig: signal.Signals) -> None:
        """React to one signal: first stop gracefully, then force."""
        self.received.append(sig)
        if len(self.received) == 1:
            logger.info("received %s: shutting down gracefully (send it again to force)", sig.name)
            self.stop.set()
        else:
            logger.warning("received %s again: forcing exit", sig.name)
            self.force()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when it is installed, else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """Run ``main(stop)`` in a new event loop; SIGTERM/SIGINT set ``stop``, a second one cancels.

    This is the body of the long-running commands (runadapter, runworker).

    Returns:
        What ``main`` returned.

    Raises:
        asyncio.CancelledError: a second signal forced exit before ``main`` returned.
    """

    async def supervised() -> T:
        stop = asyncio.Event()
        task = asyncio.current_task()
        assert task is not None
        with ShutdownSignals(stop, force=task.cancel):
            return await main(stop)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(supervised())
