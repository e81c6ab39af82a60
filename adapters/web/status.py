"""Deprecated: moved to :mod:`gateway.status` (old path kept until 0.2, with a warning)."""

from __future__ import annotations

from gateway.deprecation import moved

__getattr__ = moved(
    "adapters.web.status",
    "gateway.status",
    [
        "RateTracker",
        "status_snapshot",
    ],
)
