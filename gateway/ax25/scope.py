"""The ``ax25`` scope dict (docs/specs/ax25.md), built in one place for the adapter and tests."""

from __future__ import annotations

from typing import Any

__all__ = ["SPEC_VERSION", "ax25_scope"]

SPEC_VERSION = "1.0"


def ax25_scope(
    mode: str, local: str | None, remote: str | None, path: list[str], port: int = 0
) -> dict[str, Any]:
    """The scope of one (local, remote, mode) conversation; ``local``/``remote`` are None for
    the monitor scope."""
    return {
        "type": "ax25",
        "asgi": {"version": "3.0", "spec_version": SPEC_VERSION},
        "spec_version": SPEC_VERSION,
        "mode": mode,
        "local": local,
        "remote": remote,
        "path": path,
        "port": port,
    }
