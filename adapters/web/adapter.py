"""The web adapter: uvicorn serving the project's ASGI application, HTTP and WebSocket on one port.

We write no HTTP server: uvicorn parses HTTP (httptools) and WebSocket (the ``websockets``
library's sans-I/O protocol) and calls the application. We run both as subclasses that bound
what a client may send (:mod:`adapters.web.uvicorn_compat`).
This module owns what is ours: the listening socket, uvicorn's settings from Django settings,
the start-up lines, metrics and failure containment (:mod:`adapters.web.instrument`) and
shutdown. It runs inside the event loop of ``manage.py runadapter``, which owns the process
signals, so uvicorn is told not to install signal handlers of its own.

Graceful shutdown (Heroku sends SIGTERM and kills the dyno 30 s later): stop accepting,
close every WebSocket with 1012 ("service restart": clients reconnect, and find another
dyno), let requests in progress finish within GATEWAY_SHUTDOWN_TIMEOUT, cancel the rest.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import Mapping
from typing import Any, ClassVar

import uvicorn

from adapters.web.instrument import InstrumentedApplication
from adapters.web.limits import WebLimits
from adapters.web.uvicorn_compat import (
    EmbeddedServer,
    LeanWebSocketProtocol,
    LimitedHttpToolsProtocol,
)
from gateway.clock import Clock
from gateway.exceptions import ConfigurationError
from gateway.server import Adapter
from gateway.types import ASGIApp

logger = logging.getLogger(__name__)

#: uvicorn's WebSocket implementation. "websockets-sansio" drives the websockets library's
#: sans-I/O protocol straight from asyncio's data_received (no reader task per connection):
#: it closes oversized messages with 1009 like the others and costs the least CPU and memory
#: per connection (docs/performance.md). We run it as LeanWebSocketProtocol, the same
#: protocol with ~3 KB less state per connection (adapters/web/uvicorn_compat.py).
WS_IMPLEMENTATION = "websockets-sansio"
# Heroku's router closes a WebSocket after 55 s without traffic; a ping every 20 s keeps
# idle chat tabs connected.
WS_PING_INTERVAL = 20.0
HEROKU_GRACE = 30.0
#: Cyclic-GC thresholds while the web adapter serves (CPython's default: 700, 10, 10). Each
#: WebSocket keeps a few hundred container objects alive for hours; with the defaults, full
#: collections keep re-scanning all of them (about 1 ms of CPU per connect at 5,000 open
#: connections, and a half-second pause each time), so the connect rate falls as connections
#: pile up. A larger young generation makes full collections rare; cyclic garbage is still
#: collected (docs/performance.md).
GC_THRESHOLDS = (10_000, 50, 100)


def tune_gc() -> None:
    """Move start-up objects out of the collector's way and make full collections rare.

    Process-wide, so every adapter in a `runadapter all` process benefits too.
    """
    gc.collect()
    # Django, the URL conf and the application are here for good: never scan them again.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def bind_socket(host: str, port: int) -> socket.socket:
    """Open the listening TCP socket (port 0: any free port).

    Raises:
        ConfigurationError: the address is in use or cannot be bound; the message says what
            to change.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, backlog=2048)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): set PORT (or --port) to a "
            f"free port, or WEB_HOST to an address of this machine"
        ) from exc


class WebAdapter(Adapter):
    """HTTP and WebSocket on one port, through uvicorn, for settings.ASGI_APPLICATION.

    Args:
        host: address to listen on (settings.WEB_HOST, default all interfaces).
        port: TCP port (settings.PORT, which Heroku sets; 0 picks a free one).
        max_message_size: WebSocket messages larger than this close with 1009.
        shutdown_timeout: seconds requests and consumers get to finish on shutdown.
        per_message_deflate: negotiate WebSocket compression (costs CPU and ~tens of KB of
            zlib state per connection, so it is off by default).
        limits: header size, count and time limits and the open-connection bound.
        clock: times the header timeout (None: the running loop's).
    """

    name: ClassVar[str] = "web"

    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int = 8000,
        max_message_size: int = 64 * 1024,
        shutdown_timeout: float = 25.0,
        per_message_deflate: bool = False,
        limits: WebLimits | None = None,
        clock: Clock | None = None,
    ) -> None:
        if max_message_size <= 0:
            raise ConfigurationError(
                "WEBSOCKET_MAX_MESSAGE_SIZE must be a positive number of bytes, "
                f"got {max_message_size}"
            )
        self.host = host
        self.port = port
        self.max_message_size = max_message_size
        # Heroku kills the dyno 30 s after SIGTERM; leave a margin for the other adapters.
        self.shutdown_timeout = min(shutdown_timeout, HEROKU_GRACE - 2)
        self.per_message_deflate = per_message_deflate
        self.limits = limits if limits is not None else WebLimits()
        self.clock = clock
        self.bound_port: int | None = None

    @classmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any]) -> WebAdapter:
        """Build from Django settings; ``--port``/``--host`` options win over PORT/WEB_HOST.

        The web adapter needs nothing external, so it is always configured.
        """
        port = options.get("port")
        host = options.get("host")
        return cls(
            host=host if host else getattr(settings, "WEB_HOST", "0.0.0.0"),
            port=int(port) if port is not None else int(getattr(settings, "PORT", 8000)),
            max_message_size=int(getattr(settings, "WEBSOCKET_MAX_MESSAGE_SIZE", 64 * 1024)),
            shutdown_timeout=float(getattr(settings, "GATEWAY_SHUTDOWN_TIMEOUT", 25.0)),
            per_message_deflate=bool(getattr(settings, "WEBSOCKET_PER_MESSAGE_DEFLATE", False)),
            limits=WebLimits.from_settings(settings),
        )

    def describe(self) -> str:
        """One line for the start-up log."""
        return f"HTTP and WebSocket on {self.host}:{self.port} (uvicorn, ws={WS_IMPLEMENTATION})"

    def uvicorn_config(self, application: ASGIApp) -> uvicorn.Config:
        """The uvicorn settings we run with (exposed for the benchmark and tests)."""
        return uvicorn.Config(
            InstrumentedApplication(application),
            http=LimitedHttpToolsProtocol.configured(self.limits, self.clock),
            ws=LeanWebSocketProtocol,
            ws_max_size=self.max_message_size,
            ws_ping_interval=WS_PING_INTERVAL,
            ws_ping_timeout=WS_PING_INTERVAL,
            ws_per_message_deflate=self.per_message_deflate,
            lifespan="off",  # Django has no lifespan handler; the runtime owns start and stop
            log_config=None,  # Django's LOGGING is already in place
            access_log=False,  # Heroku's router logs every request already
            proxy_headers=True,  # FORWARDED_ALLOW_IPS (uvicorn reads it) says whom to trust
            server_header=False,
            timeout_graceful_shutdown=max(1, round(self.shutdown_timeout)),
        )

    async def serve(self, application: ASGIApp, stop: asyncio.Event) -> None:
        """Listen, serve until `stop` is set, then shut down gracefully and return.

        Raises:
            ConfigurationError: the port cannot be bound.
        """
        self.limits.check_descriptors()
        sock = bind_socket(self.host, self.port)
        self.bound_port = sock.getsockname()[1]
        server = EmbeddedServer(self.uvicorn_config(application))
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="web: uvicorn")
        stopping = asyncio.create_task(stop.wait(), name="web: stop")
        try:
            listening = asyncio.create_task(server.listening.wait())
            await asyncio.wait({serving, listening}, return_when=asyncio.FIRST_COMPLETED)
            listening.cancel()
            if server.listening.is_set():
                tune_gc()
                self._log_listening(server.config)
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not serving.done():
                logger.info(
                    "web: shutting down: closing WebSockets with 1012, up to %.0f s for requests",
                    self.shutdown_timeout,
                )
                server.should_exit = True
            await serving
        except asyncio.CancelledError:
            # A second signal: runadapter wants out now.
            server.should_exit = server.force_exit = True
            serving.cancel()
            raise
        finally:
            stopping.cancel()
            sock.close()
        logger.info("web: stopped")

    def _log_listening(self, config: uvicorn.Config) -> None:
        shown = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host
        loop = type(asyncio.get_running_loop())
        logger.info(
            "web: listening on http://%s:%d (HTTP and WebSocket on one port; "
            "http=%s, ws=%s, loop=%s.%s)",
            self.host,
            self.bound_port,
            config.http_protocol_class.__name__,
            WS_IMPLEMENTATION,
            loop.__module__,
            loop.__name__,
        )
        logger.info(
            "web: chat http://%s:%d/  status /status  health /healthz  metrics /metrics  "
            "static /static/ (whitenoise)",
            shown,
            self.bound_port,
        )
        logger.info(
            "web: WebSocket messages over %d bytes close with 1009; shutdown grace %.0f s",
            self.max_message_size,
            self.shutdown_timeout,
        )
        limits = self.limits
        logger.info(
            "web: request headers: %d bytes per line, %d fields, %d bytes in all, %s to send "
            "them; at most %s open connections",
            limits.max_header_line,
            limits.max_headers,
            limits.max_header_bytes,
            f"{limits.header_timeout:g} s" if limits.header_timeout else "no limit",
            limits.max_connections or "unlimited",
        )
