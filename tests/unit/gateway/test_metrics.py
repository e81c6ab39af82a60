"""gateway.metrics: contract names, pre-bound children, snapshot."""

from __future__ import annotations

import pytest

from gateway import metrics
from tests.unit.gateway.runtime_helpers import sample, unique_protocol


def test_protocol_children_are_bound_once_and_count_under_the_contract_names() -> None:
    protocol = unique_protocol()
    bound = metrics.for_protocol(protocol)
    assert metrics.for_protocol(protocol) is bound
    bound.events_in.inc()
    bound.events_out.inc(2)
    bound.handler_errors.inc()
    bound.scopes_open.inc()
    assert sample("gateway_events_in_total", protocol=protocol) == 1
    assert sample("gateway_events_out_total", protocol=protocol) == 2
    assert sample("gateway_handler_errors_total", protocol=protocol) == 1
    assert sample("gateway_scopes_open", protocol=protocol) == 1


def test_layer_messages_checks_the_direction() -> None:
    backend = unique_protocol()
    metrics.layer_messages(backend, "group_send").inc()
    assert sample("gateway_layer_messages_total", backend=backend, direction="group_send") == 1
    with pytest.raises(ValueError, match="direction must be one of"):
        metrics.layer_messages(backend, "sideways")


def test_snapshot_reads_current_values() -> None:
    protocol = unique_protocol()
    metrics.for_protocol(protocol).events_in.inc(3)
    metrics.adapter_up(protocol).set(1)
    metrics.layer_messages(protocol, "send").inc()
    values = metrics.snapshot()
    assert values["events_in"][protocol] == 3
    assert values["adapter_up"][protocol] == 1
    assert values["layer_messages"][f"{protocol}/send"] == 1
    assert values["scopes_open"][protocol] == 0
