"""The scope a test communicator sends: what a real server would build for one request."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from gateway.exceptions import ConfigurationError
from gateway.utils import Headers, header_list

#: Peer addresses in test scopes: a loopback client and Django's test server name.
TEST_CLIENT = ("127.0.0.1", 50000)
TEST_SERVER = ("testserver", 80)


def connection_scope(
    scope_type: str,
    path: str,
    scheme: str,
    headers: Headers | None = None,
    spec_version: str | None = None,
) -> dict[str, Any]:
    """Build an ASGI HTTP or WebSocket scope for ``path`` (which may hold a query string).

    Args:
        scope_type: ``"http"`` or ``"websocket"``.
        path: the request target, e.g. ``"/chat/room/?token=x"``; percent-escapes are decoded
            in ``path`` and kept in ``raw_path``.
        scheme: ``"http"`` or ``"ws"``.
        headers: request headers as pairs or a mapping, bytes or str.
        spec_version: the ASGI spec version of that scope type, if the test wants one.

    Raises:
        ConfigurationError: ``path`` is not a string.
    """
    if not isinstance(path, str):
        raise ConfigurationError(f"the path must be a str, got {type(path).__name__}")
    parts = urlsplit(path)
    asgi: dict[str, str] = {"version": "3.0"}
    scope: dict[str, Any] = {
        "type": scope_type,
        "asgi": asgi,
        "http_version": "1.1",
        "scheme": scheme,
        "path": unquote(parts.path),
        "raw_path": parts.path.encode("latin-1", errors="replace"),
        "query_string": parts.query.encode("utf-8"),
        "root_path": "",
        "headers": header_list(headers),
        "client": list(TEST_CLIENT),
        "server": list(TEST_SERVER),
    }
    if spec_version:
        asgi["spec_version"] = spec_version
        # Channels' communicator puts it at the top level; keep that for compatible tests.
        scope["spec_version"] = spec_version
    return scope
