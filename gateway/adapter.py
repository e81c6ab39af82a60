"""Adapters: the base class, the registry by name, and the supervisor that runs them together.

An adapter turns one native protocol (HTTP/WebSocket, MQTT, Telegram, AX.25) into ASGI scopes and
events for the application. ``settings.GATEWAY_ADAPTERS`` maps each name to the dotted path of
its :class:`Adapter` subclass; classes decorated with :func:`register_adapter` are known too.
``manage.py runadapter`` builds them with :meth:`Adapter.from_settings` and runs them with
:func:`run_adapters`, all in one event loop.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from django.utils.module_loading import import_string

from gateway import metrics
from gateway.clock import Clock, LoopClock, wait_until
from gateway.exceptions import ConfigurationError
from gateway.types import ASGIApp

logger = logging.getLogger(__name__)

#: Extra seconds the supervisor waits after ``shutdown_timeout`` for adapters to finish
#: their own graceful shutdown (which cancels leftovers at ``shutdown_timeout``).
SHUTDOWN_MARGIN = 2.0

_registry: dict[str, type[Adapter]] = {}

A = TypeVar("A", bound="type[Adapter]")


class Adapter(abc.ABC):
    """Base class of the protocol adapters run by ``manage.py runadapter``.

    Subclasses set ``name`` and implement :meth:`from_settings` and :meth:`serve`. Most build
    an :class:`~gateway.runtime.ApplicationRuntime` in ``serve`` and feed it native traffic.
    """

    name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any]) -> Adapter:
        """Build the adapter from Django settings and the command's parsed options.

        Args:
            settings: ``django.conf.settings`` (or any object with the same attributes).
            options: the ``runadapter`` options (``host``, ``port``, ``verbosity``...); a key
                is present with value None when the option was not given.

        Raises:
            AdapterNotConfigured: the adapter cannot run with these settings; the message
                says what to set, e.g. "set MQTT_URL to mqtt://host:1883 to enable mqtt".
        """

    @abc.abstractmethod
    async def serve(self, application: ASGIApp, stop: asyncio.Event) -> None:
        """Serve ``application`` until ``stop`` is set, then shut down gracefully and return.

        Raise (any exception) if the adapter cannot go on: ``runadapter`` logs it, stops the
        other adapters and exits non-zero so the platform restarts the process.
        """

    def describe(self) -> str:
        """One line for the start-up log: what this adapter listens to or connects to."""
        return self.name


def register_adapter(cls: A) -> A:
    """Class decorator: make an :class:`Adapter` subclass known under its ``name``.

    ``settings.GATEWAY_ADAPTERS`` wins when it names the same adapter.
    """
    _registry[cls.name] = cls
    return cls


def known_adapters(settings: Any) -> list[str]:
    """Names of every adapter, from ``settings.GATEWAY_ADAPTERS`` and the registry, in order."""
    names = list(getattr(settings, "GATEWAY_ADAPTERS", {}))
    names += [name for name in _registry if name not in names]
    return names


def get_adapter_class(name: str, settings: Any) -> type[Adapter]:
    """Return the Adapter class for ``name``.

    Raises:
        ConfigurationError: ``name`` is unknown, or its dotted path cannot be imported or is
            not an Adapter subclass.
    """
    configured: Mapping[str, Any] = getattr(settings, "GATEWAY_ADAPTERS", {})
    target = configured.get(name) or _registry.get(name)
    if target is None:
        raise ConfigurationError(
            f"unknown adapter {name!r}: known adapters are {', '.join(known_adapters(settings))}"
        )
    if isinstance(target, str):
        try:
            target = import_string(target)
        except ImportError as exc:
            raise ConfigurationError(
                f"adapter {name!r}: cannot import {configured[name]!r} named in "
                f"GATEWAY_ADAPTERS ({exc})"
            ) from exc
    if not (isinstance(target, type) and issubclass(target, Adapter)):
        raise ConfigurationError(
            f"adapter {name!r}: GATEWAY_ADAPTERS must name an Adapter subclass, got {target!r}"
        )
    return target


async def run_adapters(
    adapters: Mapping[str, Adapter],
    application: ASGIApp,
    stop: asyncio.Event,
    shutdown_timeout: float,
    *,
    clock: Clock | None = None,
) -> list[str]:
    """Run adapters concurrently until ``stop`` is set or one of them fails.

    An adapter that raises, or returns before ``stop`` is set, is a failure: it is logged, the
    others are stopped gracefully, and its name is returned. Sets ``gateway_adapter_up``.

    Args:
        adapters: the adapters by name.
        application: the ASGI application they serve.
        stop: set it to shut down; the supervisor also sets it when an adapter fails.
        shutdown_timeout: after ``stop``, how long adapters get before they are cancelled
            (plus :data:`SHUTDOWN_MARGIN`).
        clock: what that deadline is measured on (None: the running loop's).

    Returns:
        The names of the adapters that failed (empty after a clean shutdown).
    """
    tasks = {
        asyncio.create_task(_serve_one(name, adapter, application, stop), name=f"adapter {name}"): (
            name
        )
        for name, adapter in adapters.items()
    }
    failed: list[str] = []
    stop_waiter: asyncio.Task[Any] = asyncio.create_task(stop.wait(), name="adapters stop")
    pending: set[asyncio.Task[Any]] = set(tasks)
    try:
        while pending and not stop.is_set():
            done, pending = await asyncio.wait(
                pending | {stop_waiter}, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(stop_waiter)
            for task in done - {stop_waiter}:
                failed += _failure(tasks[task], task, stop)
        if pending:
            clock = clock or LoopClock()
            deadline = clock.time() + shutdown_timeout + SHUTDOWN_MARGIN
            still = await wait_until(clock, pending, deadline)
            for task in pending - still:
                failed += _failure(tasks[task], task, stop)
            pending = still
        if pending:
            logger.warning(
                "adapter(s) %s did not stop within %.1fs: cancelling",
                ", ".join(tasks[task] for task in pending),
                shutdown_timeout + SHUTDOWN_MARGIN,
            )
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)
    finally:
        stop_waiter.cancel()
        for task in tasks:
            task.cancel()
    return failed


async def _serve_one(
    name: str, adapter: Adapter, application: ASGIApp, stop: asyncio.Event
) -> None:
    up = metrics.adapter_up(name)
    logger.info("adapter %s: serving %s", name, adapter.describe())
    up.set(1)
    try:
        await adapter.serve(application, stop)
    finally:
        up.set(0)


def _failure(name: str, task: asyncio.Task[Any], stop: asyncio.Event) -> list[str]:
    """Log how an adapter task ended; return [name] if that was a failure, and stop the rest."""
    if task.cancelled():
        return []
    exc = task.exception()
    if exc is None:
        if stop.is_set():
            logger.info("adapter %s stopped", name)
            return []
        logger.error("adapter %s returned before shutdown was asked: stopping the others", name)
    else:
        logger.error("adapter %s crashed: stopping the others", name, exc_info=exc)
    stop.set()
    return [name]
