"""The ax25 metrics reach /metrics and /status (details.ax25)."""

from __future__ import annotations

from adapters.ax25 import metrics
from adapters.web.status import RateTracker, status_snapshot
from gateway import metrics as gateway_metrics


def test_ax25_metrics_in_snapshot_and_status() -> None:
    before = gateway_metrics.snapshot().get("ax25.frames", {}).get("in", 0.0)
    metrics.FRAMES_IN.inc()
    metrics.aprs("ack_sent").inc()
    metrics.TNC_CONNECTED.set(1)
    values = gateway_metrics.snapshot()
    assert values["ax25.frames"]["in"] == before + 1
    status = status_snapshot(values, ["ax25"], RateTracker(), now=0.0)
    ax25 = status["details"]["ax25"]
    assert ax25["frames"]["in"] == int(before + 1)
    assert ax25["aprs"]["ack_sent"] >= 1
    assert ax25["tnc_connected"] == {"value": 1}
    metrics.TNC_CONNECTED.set(0)
