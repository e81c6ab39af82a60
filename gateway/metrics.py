"""Prometheus metrics of the gateway, in the default registry (served at /metrics).

The names are part of docs/runtime-contract.md:

- ``gateway_scopes_open{protocol}`` gauge: application instances alive.
- ``gateway_events_in_total{protocol}`` / ``gateway_events_out_total{protocol}`` counters:
  events delivered to applications / messages applications sent.
- ``gateway_handler_errors_total{protocol}`` counter: application instances that raised.
- ``gateway_layer_messages_total{backend,direction}`` counter (direction: send, receive,
  group_send).
- ``gateway_adapter_up{adapter}`` gauge: 1 while the adapter serves.
- ``gateway_events_dropped_total{protocol,reason}`` counter: events given to the runtime by
  key that no instance handled (reason ``scope_closed``: instances kept ending before taking
  it; ``open_failed``: the scope could not be opened).

Adapters add their own metrics in their own modules and show them on /status by
:func:`register_detail` (e.g. ``gateway_ax25_frames_total{direction}`` as ``ax25.frames``).

Hot paths must not look labels up per event (``labels()`` hashes and locks): take the
pre-bound children once, with :func:`for_protocol` and :func:`layer_messages`, and for a
per-message count take :func:`incrementer` of the child once too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from prometheus_client import Counter, Gauge

SCOPES_OPEN = Gauge(
    "gateway_scopes_open", "Application instances (scopes) currently open.", ["protocol"]
)
EVENTS_IN = Counter("gateway_events_in", "Events delivered to application instances.", ["protocol"])
EVENTS_OUT = Counter("gateway_events_out", "Messages sent by application instances.", ["protocol"])
HANDLER_ERRORS = Counter(
    "gateway_handler_errors", "Application instances that ended with an exception.", ["protocol"]
)
LAYER_MESSAGES = Counter(
    "gateway_layer_messages",
    "Channel layer messages, by backend and direction (send, receive, group_send).",
    ["backend", "direction"],
)
EVENTS_DROPPED = Counter(
    "gateway_events_dropped",
    "Events delivered by key that no application instance handled, by reason.",
    ["protocol", "reason"],
)
ADAPTER_UP = Gauge("gateway_adapter_up", "1 while the adapter is serving, else 0.", ["adapter"])

LAYER_DIRECTIONS = ("send", "receive", "group_send")


@dataclass(frozen=True)
class ProtocolMetrics:
    """The per-protocol metric children, bound once so each event costs one ``inc()``.

    ``count_in`` / ``count_out`` are the :func:`incrementer` of ``events_in`` / ``events_out``.
    """

    scopes_open: Gauge
    events_in: Counter
    events_out: Counter
    handler_errors: Counter
    count_in: Callable[[float], None]
    count_out: Callable[[float], None]


@cache
def for_protocol(protocol: str) -> ProtocolMetrics:
    """Return the metric children for ``protocol`` ("http", "mqtt", "telegram", ...)."""
    events_in = EVENTS_IN.labels(protocol=protocol)
    events_out = EVENTS_OUT.labels(protocol=protocol)
    return ProtocolMetrics(
        scopes_open=SCOPES_OPEN.labels(protocol=protocol),
        events_in=events_in,
        events_out=events_out,
        handler_errors=HANDLER_ERRORS.labels(protocol=protocol),
        count_in=incrementer(events_in),
        count_out=incrementer(events_out),
    )


@cache
def layer_messages(backend: str, direction: str) -> Counter:
    """Return the ``gateway_layer_messages_total`` child for a layer backend and direction.

    Args:
        backend: a short backend name, e.g. "inmemory" or "redis".
        direction: one of "send", "receive", "group_send".

    Raises:
        ValueError: ``direction`` is not one of those three.
    """
    if direction not in LAYER_DIRECTIONS:
        raise ValueError(f"direction must be one of {LAYER_DIRECTIONS}, got {direction!r}")
    return LAYER_MESSAGES.labels(backend=backend, direction=direction)


@cache
def events_dropped(protocol: str, reason: str) -> Counter:
    """Return the ``gateway_events_dropped_total`` child for a protocol and reason."""
    return EVENTS_DROPPED.labels(protocol=protocol, reason=reason)


def incrementer(child: Counter) -> Callable[[float], None]:
    """Return the cheapest exact way to add to a bound counter child: call it with the amount.

    ``Counter.inc`` checks, on every call, that the child is bound and the amount is not
    negative, before adding under the value's lock. For a child bound once and amounts the
    caller knows are positive, the value's own ``inc`` (the same lock, so exact across
    threads, and seen at once by /metrics) is two Python calls less per message, which
    matters per broadcast delivery. Falls back to ``child.inc`` if prometheus-client ever
    stores its value differently (tests check the pinned version).

    Raises:
        ValueError: ``child`` is a metric with labels, not a child bound with ``labels()``.
    """
    if not child._is_observable():
        raise ValueError("pass a bound child, e.g. COUNTER.labels(protocol='http'), not the metric")
    value_inc = getattr(getattr(child, "_value", None), "inc", None)
    return value_inc if callable(value_inc) else child.inc


def adapter_up(adapter: str) -> Gauge:
    """Return the ``gateway_adapter_up`` child for an adapter name."""
    return ADAPTER_UP.labels(adapter=adapter)


def snapshot() -> dict[str, dict[str, float]]:
    """Read the current values, for a status page.

    Returns:
        ``{"scopes_open": {protocol: n}, "events_in": {...}, "events_out": {...},
        "handler_errors": {...}, "adapter_up": {adapter: 0|1},
        "layer_messages": {"backend/direction": n}}``. Counters are totals since start;
        take two snapshots to compute a rate.
    """
    result: dict[str, dict[str, float]] = {}
    for key, metric, label in (
        ("scopes_open", SCOPES_OPEN, "protocol"),
        ("events_in", EVENTS_IN, "protocol"),
        ("events_out", EVENTS_OUT, "protocol"),
        ("handler_errors", HANDLER_ERRORS, "protocol"),
        ("adapter_up", ADAPTER_UP, "adapter"),
    ):
        result[key] = {
            sample.labels[label]: sample.value
            for sample in _samples(metric)
            if label in sample.labels
        }
    result["layer_messages"] = {
        f"{sample.labels['backend']}/{sample.labels['direction']}": sample.value
        for sample in _samples(LAYER_MESSAGES)
    }
    for key, (metric, detail_label) in _DETAILS.items():
        result[key] = {
            sample.labels.get(detail_label, "value") if detail_label else "value": sample.value
            for sample in _samples(metric)
        }
    return result


_DETAILS: dict[str, tuple[Any, str | None]] = {}


def register_detail(adapter: str, name: str, metric: Any, label: str | None = None) -> None:
    """Show an adapter's own metric in :func:`snapshot` (and so on /status) as
    ``"<adapter>.<name>": {label value: value}`` (``{"value": v}`` for a metric without labels).
    """
    _DETAILS[f"{adapter}.{name}"] = (metric, label)


def _samples(metric: Any) -> list[Any]:
    # Counters expose both "<name>_total" and "<name>_created"; keep the values only.
    return [
        sample
        for family in metric.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    ]
