"""gateway.metrics.incrementer: the per-message counter path stays exact and visible at once."""

from __future__ import annotations

import threading
import uuid

import pytest
from prometheus_client import REGISTRY

from gateway import metrics


def test_pinned_prometheus_client_keeps_the_value_inc_we_bind() -> None:
    child = metrics.layer_messages(f"t{uuid.uuid4().hex[:8]}", "send")
    # If this fails, prometheus-client changed how it stores values: incrementer() falls back
    # to child.inc, which is correct but slower; update it for the new version.
    assert metrics.incrementer(child) == child._value.inc


def test_increments_are_seen_by_metrics_and_snapshot_at_once() -> None:
    protocol = f"proto{uuid.uuid4().hex[:8]}"
    counters = metrics.for_protocol(protocol)
    counters.count_in(1)
    counters.count_out(1)
    counters.count_out(1)
    labels = {"protocol": protocol}
    assert REGISTRY.get_sample_value("gateway_events_in_total", labels) == 1
    assert REGISTRY.get_sample_value("gateway_events_out_total", labels) == 2
    assert metrics.snapshot()["events_out"][protocol] == 2


def test_increments_from_many_threads_are_all_counted() -> None:
    backend = f"t{uuid.uuid4().hex[:8]}"
    inc = metrics.incrementer(metrics.layer_messages(backend, "receive"))

    def work() -> None:
        for _ in range(10_000):
            inc(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    labels = {"backend": backend, "direction": "receive"}
    assert REGISTRY.get_sample_value("gateway_layer_messages_total", labels) == 40_000


def test_an_unbound_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="bound child"):
        metrics.incrementer(metrics.EVENTS_IN)
