"""What the /status page shows: this process's gateway metrics, with messages per second.

The values come from :func:`gateway.metrics.snapshot` (totals since start); the rates are
computed here from totals sampled over a short window. Time is an argument, so the arithmetic
is tested without sleeping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RateTracker:
    """Messages per second per key, from counter totals seen over the last `window` seconds."""

    window: float = 10.0
    _history: deque[tuple[float, dict[str, float]]] = field(default_factory=deque)

    def update(self, now: float, totals: Mapping[str, float]) -> dict[str, float]:
        """Record the totals seen at `now`; return each key's rate since the oldest sample kept.

        The first call returns zeros: a rate needs two samples.
        """
        while self._history and now - self._history[0][0] > self.window:
            self._history.popleft()
        rates = dict.fromkeys(totals, 0.0)
        if self._history:
            then, old = self._history[0]
            elapsed = now - then
            for key, total in totals.items():
                delta = total - old.get(key, 0.0)
                # A counter that went down was reset (a fresh registry): report no rate yet.
                if elapsed > 0 and delta >= 0:
                    rates[key] = round(delta / elapsed, 2)
        self._history.append((now, dict(totals)))
        return rates


def status_snapshot(
    values: Mapping[str, Mapping[str, float]],
    adapters: Iterable[str],
    tracker: RateTracker,
    now: float,
) -> dict[str, Any]:
    """Build the JSON the /status page polls.

    Args:
        values: from :func:`gateway.metrics.snapshot`.
        adapters: every adapter name the project knows (settings.GATEWAY_ADAPTERS); those
            not serving in this process are reported as down.
        tracker: keeps earlier totals to compute messages per second.
        now: the current time in seconds since the epoch.
    """
    events_in = values.get("events_in", {})
    events_out = values.get("events_out", {})
    up = values.get("adapter_up", {})
    protocols = sorted(set(events_in) | set(events_out))
    rates = tracker.update(
        now, {p: events_in.get(p, 0.0) + events_out.get(p, 0.0) for p in protocols}
    )
    return {
        "time": now,
        "adapters": {
            name: {"up": up.get(name, 0.0) >= 1} for name in sorted(set(adapters) | set(up))
        },
        "scopes_open": {k: int(v) for k, v in values.get("scopes_open", {}).items()},
        "protocols": {
            p: {
                "events_in": int(events_in.get(p, 0.0)),
                "events_out": int(events_out.get(p, 0.0)),
                "messages_per_second": rates[p],
            }
            for p in protocols
        },
        "handler_errors": {k: int(v) for k, v in values.get("handler_errors", {}).items()},
        "layer_messages": {k: int(v) for k, v in values.get("layer_messages", {}).items()},
        "details": _details(values),
    }


def _details(values: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, Any]]:
    # Adapters' own metrics, registered as "<adapter>.<name>" (gateway.metrics.register_detail).
    details: dict[str, dict[str, Any]] = {}
    for key, samples in values.items():
        adapter, dot, name = key.partition(".")
        if dot:
            details.setdefault(adapter, {})[name] = {k: int(v) for k, v in samples.items()}
    return details
