"""gateway.status: the /status snapshot and messages-per-second arithmetic."""

from __future__ import annotations

from gateway.status import RateTracker, status_snapshot


def test_first_sample_has_no_rate_then_rate_is_delta_over_time() -> None:
    tracker = RateTracker(window=10.0)
    assert tracker.update(100.0, {"websocket": 50.0}) == {"websocket": 0.0}
    assert tracker.update(102.0, {"websocket": 70.0}) == {"websocket": 10.0}
    # Measured from the oldest sample still inside the window.
    assert tracker.update(104.0, {"websocket": 90.0}) == {"websocket": 10.0}


def test_samples_older_than_the_window_are_dropped() -> None:
    tracker = RateTracker(window=5.0)
    tracker.update(0.0, {"mqtt": 0.0})
    tracker.update(4.0, {"mqtt": 400.0})
    assert tracker.update(8.0, {"mqtt": 480.0}) == {"mqtt": 20.0}


def test_a_counter_that_went_down_reports_no_rate() -> None:
    tracker = RateTracker()
    tracker.update(0.0, {"http": 10.0})
    assert tracker.update(1.0, {"http": 2.0}) == {"http": 0.0}


def test_a_new_protocol_counts_from_zero() -> None:
    tracker = RateTracker()
    tracker.update(0.0, {})
    assert tracker.update(2.0, {"telegram": 8.0}) == {"telegram": 4.0}


def test_snapshot_lists_every_known_adapter_up_or_down() -> None:
    values = {
        "scopes_open": {"websocket": 3.0, "http": 1.0},
        "events_in": {"websocket": 10.0},
        "events_out": {"websocket": 5.0, "http": 2.0},
        "handler_errors": {"websocket": 1.0},
        "adapter_up": {"web": 1.0, "mqtt": 0.0},
        "layer_messages": {"inmemory/group_send": 4.0},
    }
    data = status_snapshot(values, ["web", "mqtt", "telegram"], RateTracker(), now=50.0)
    assert data["adapters"] == {
        "mqtt": {"up": False},
        "telegram": {"up": False},
        "web": {"up": True},
    }
    assert data["scopes_open"] == {"websocket": 3, "http": 1}
    assert data["protocols"]["websocket"] == {
        "events_in": 10,
        "events_out": 5,
        "messages_per_second": 0.0,
    }
    assert data["protocols"]["http"]["events_out"] == 2
    assert data["handler_errors"] == {"websocket": 1}
    assert data["layer_messages"] == {"inmemory/group_send": 4}
    assert data["time"] == 50.0
