"""Reconnect backoff: capped exponential delays with jitter, and one log line per outage.

Every driver that reconnects (MQTT, the Redis layer, Telegram, AX.25) uses the same shape::

    backoff = Backoff("MQTT broker mqtt://127.0.0.1:1883", logger=logger)
    while not stopping.is_set():
        try:
            await run_once()                   # returns on a clean close, raises OSError on loss
        except OSError as exc:
            await backoff.wait(exc, stop=stopping)   # logs, sleeps; returns early on stop
        else:
            backoff.succeeded()

An outage logs one WARNING (``"<what> unreachable: <error>; retrying in 0.5s"``) when it
starts, DEBUG lines for the retries after it, and one INFO (``"<what> reachable again after
N attempts, T s"``) from :meth:`Backoff.succeeded`. So a broker that is down for an hour leaves
two lines in the log at INFO, not thousands.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections.abc import Callable

from gateway.clock import Clock, resolve
from gateway.exceptions import ConfigurationError


class Backoff:
    """Delays between reconnection attempts, and the log lines of an outage.

    Args:
        what: what is unreachable, for the log lines ("Redis at redis://127.0.0.1:6379").
        logger: the caller's logger (so the lines name the module that reconnects).
        initial: the first delay, in seconds.
        maximum: the cap on every delay.
        factor: each delay is ``factor`` times the previous one, up to ``maximum``.
        jitter: each delay is moved at random by up to this fraction (0.2: +-20 %), so many
            clients that lost the same server do not all come back at the same instant.
        random: returns a float in [0, 1); tests pass a fixed one.
        clock: measures the outage for the recovery line, and is slept on by :meth:`wait`
            unless ``wait`` is given one; None: the running loop's.

    Raises:
        ConfigurationError: a bound is negative, ``maximum < initial``, ``factor < 1`` or
            ``jitter`` is outside [0, 1).

    Attributes:
        attempts: failures since the last success.
        in_outage: True between a failure and the next success.
    """

    def __init__(
        self,
        what: str,
        *,
        logger: logging.Logger,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        random: Callable[[], float] = _random.random,
        clock: Clock | None = None,
    ) -> None:
        if initial < 0 or maximum < initial or factor < 1 or not 0 <= jitter < 1:
            raise ConfigurationError(
                f"backoff for {what}: need 0 <= initial <= maximum, factor >= 1 and "
                f"0 <= jitter < 1, got initial={initial}, maximum={maximum}, factor={factor}, "
                f"jitter={jitter}"
            )
        self.what = what
        self.logger = logger
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._random = random
        self._clock = clock
        self.attempts = 0
        self.in_outage = False
        self._outage_started = 0.0

    def __repr__(self) -> str:
        return f"<Backoff {self.what} attempts={self.attempts}>"

    def _now(self) -> float:
        # Without a clock the outage is measured on the monotonic clock: failed() may be
        # called from synchronous code that runs outside the event loop.
        return self._clock.time() if self._clock is not None else time.monotonic()

    def delay(self) -> float:
        """The delay the next :meth:`failed` would return before jitter (no state change)."""
        return min(self.maximum, self.initial * self.factor**self.attempts)

    def failed(self, exc: BaseException | None = None) -> float:
        """Count a failed attempt and return how long to wait before the next one.

        Logs a WARNING for the first failure of an outage, DEBUG for the following ones.

        Args:
            exc: the error, for the log line.
        """
        base = self.delay()
        self.attempts += 1
        spread = self.jitter * (2.0 * self._random() - 1.0)
        delay = min(self.maximum, max(0.0, base * (1.0 + spread)))
        reason = f": {exc}" if exc is not None else ""
        if not self.in_outage:
            self.in_outage = True
            self._outage_started = self._now()
            self.logger.warning("%s unreachable%s; retrying in %.1fs", self.what, reason, delay)
        else:
            self.logger.debug(
                "%s still unreachable%s (attempt %d); retrying in %.1fs",
                self.what,
                reason,
                self.attempts,
                delay,
            )
        return delay

    def succeeded(self) -> None:
        """The attempt worked: reset the delays; logs one INFO line if an outage ended."""
        if self.in_outage:
            self.logger.info(
                "%s reachable again after %d attempts, %.1f s",
                self.what,
                self.attempts,
                self._now() - self._outage_started,
            )
        self.attempts = 0
        self.in_outage = False

    async def wait(
        self,
        exc: BaseException | None = None,
        clock: Clock | None = None,
        *,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Count a failure (see :meth:`failed`) and sleep for the delay it returns.

        Args:
            exc: the error, for the log line.
            clock: the clock to sleep on; default: the one given to the constructor, else
                the running loop's.
            stop: return as soon as this event is set (the driver is shutting down).
        """
        delay = self.failed(exc)
        clock = resolve(clock if clock is not None else self._clock)
        if stop is None:
            await clock.sleep(delay)
            return
        if stop.is_set():
            return
        sleeping = asyncio.ensure_future(clock.sleep(delay))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopping.cancel()
