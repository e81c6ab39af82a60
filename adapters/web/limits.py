"""What the web adapter accepts from a client before the application sees it, and how long it waits.

One frozen value, :class:`WebLimits`, built from settings and checked once at start-up, and
:class:`ConnectionGate`, the per-process bound on open connections that logs one line when it
starts refusing and one when it accepts again (not one per refused client).

The defaults follow what other servers do: 8 KB per request or header line (Apache's
LimitRequestFieldSize, gunicorn, and the ``websockets`` handshake parser, so a request that
passes as HTTP also passes as a WebSocket handshake), 100 header fields (Apache, gunicorn),
64 KB for the whole header block, and 30 s to send it (a slowloris client is closed then).
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

from gateway.exceptions import ConfigurationError

logger = logging.getLogger(__name__)

__all__ = ["ConnectionGate", "WebLimits"]

#: File descriptors a process needs besides client sockets (listening socket, logs, Redis, DB).
FD_RESERVE = 64


@dataclass(frozen=True)
class WebLimits:
    """Bounds on what one client may send before its request reaches the application.

    Args:
        max_header_line: bytes of the request line or of one header line (name, ": ", value);
            over it: 414 (request line) or 431 (header).
        max_headers: header fields per request; over it: 431.
        max_header_bytes: bytes of the whole header block; over it: 431, and the server stops
            reading at once, so memory per client is bounded by this plus one socket read.
        header_timeout: seconds a client has, from connecting (or from the first byte of a
            later keep-alive request), to finish its headers; then 408 and close. None: no limit.
        max_connections: open connections per process (HTTP and WebSocket); a connection over
            it gets 503 and is closed. None: no limit.
    """

    max_header_line: int = 8192
    max_headers: int = 100
    max_header_bytes: int = 64 * 1024
    header_timeout: float | None = 30.0
    max_connections: int | None = 10_000

    def __post_init__(self) -> None:
        for name, setting in (
            ("max_header_line", "WEB_MAX_HEADER_LINE"),
            ("max_headers", "WEB_MAX_HEADERS"),
            ("max_header_bytes", "WEB_MAX_HEADER_BYTES"),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigurationError(
                    f"{setting} must be a positive whole number, got {value!r}"
                )
        if self.max_header_line > self.max_header_bytes:
            raise ConfigurationError(
                f"WEB_MAX_HEADER_LINE ({self.max_header_line}) is larger than "
                f"WEB_MAX_HEADER_BYTES ({self.max_header_bytes}): raise WEB_MAX_HEADER_BYTES"
            )
        if self.header_timeout is not None and not self.header_timeout > 0:
            raise ConfigurationError(
                f"WEB_HEADER_TIMEOUT must be a positive number of seconds (or 0 for none), "
                f"got {self.header_timeout!r}"
            )
        if self.max_connections is not None and self.max_connections <= 0:
            raise ConfigurationError(
                f"WEB_MAX_CONNECTIONS must be a positive whole number (or 0 for none), "
                f"got {self.max_connections!r}"
            )

    @classmethod
    def from_settings(cls, settings: object) -> WebLimits:
        """Read WEB_MAX_HEADER_LINE, WEB_MAX_HEADERS, WEB_MAX_HEADER_BYTES, WEB_HEADER_TIMEOUT and
        WEB_MAX_CONNECTIONS (0 turns the last two off); missing ones take the defaults."""
        default = cls()
        timeout = float(getattr(settings, "WEB_HEADER_TIMEOUT", default.header_timeout or 0))
        connections = int(getattr(settings, "WEB_MAX_CONNECTIONS", default.max_connections or 0))
        return cls(
            max_header_line=int(getattr(settings, "WEB_MAX_HEADER_LINE", default.max_header_line)),
            max_headers=int(getattr(settings, "WEB_MAX_HEADERS", default.max_headers)),
            max_header_bytes=int(
                getattr(settings, "WEB_MAX_HEADER_BYTES", default.max_header_bytes)
            ),
            header_timeout=timeout or None,
            max_connections=connections or None,
        )

    def check_descriptors(self) -> None:
        """Warn once when max_connections cannot be reached: the process would run out of file
        descriptors first, and accept() failures are far less clear than our 503."""
        if self.max_connections is None:
            return
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and self.max_connections > soft - FD_RESERVE:
            logger.warning(
                "web: WEB_MAX_CONNECTIONS=%d but this process may open only %d files "
                "(ulimit -n): set WEB_MAX_CONNECTIONS to at most %d or raise the limit",
                self.max_connections,
                soft,
                max(1, soft - FD_RESERVE),
            )


class ConnectionGate:
    """Per-process bound on open connections, logged when it starts and stops refusing.

    Args:
        limit: the most connections open at once; None: no limit.
    """

    __slots__ = ("limit", "refused", "refusing")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.refusing = False
        #: Connections refused since the limit was last reached.
        self.refused = 0

    def admit(self, open_connections: int) -> bool:
        """Say whether one more connection may open, `open_connections` being open now."""
        limit = self.limit
        if limit is None or open_connections < limit:
            if self.refusing:
                self.refusing = False
                logger.warning(
                    "web: accepting connections again (%d open, limit %d); "
                    "%d refused with 503 meanwhile",
                    open_connections,
                    limit,
                    self.refused,
                )
            return True
        if not self.refusing:
            self.refusing = True
            self.refused = 0
            logger.warning(
                "web: %d connections open, the limit (WEB_MAX_CONNECTIONS); answering new ones "
                "503 until some close. Raise the limit or add processes if this is real traffic",
                open_connections,
            )
        self.refused += 1
        return False
