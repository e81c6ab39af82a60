"""Acknowledgements leave in arrival order, whatever order handlers finish in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.mqtt.acks import AckQueue


def test_head_of_line() -> None:
    acks = AckQueue()
    first, second, third = (acks.add(mid, 1, 1) for mid in (10, 11, 12))
    acks.done(third)
    acks.done(second)
    assert acks.ready() == []
    acks.done(first)
    assert acks.ready() == [(10, 1), (11, 1), (12, 1)]
    assert len(acks) == 0


def test_multiple_targets_wait_for_all() -> None:
    acks = AckQueue()
    entry = acks.add(5, 2, 2)
    acks.done(entry)
    assert acks.ready() == []
    acks.done(entry)
    assert acks.ready() == [(5, 2)]


def test_clear_starts_a_new_generation() -> None:
    acks = AckQueue()
    old = acks.add(1, 1, 1)
    assert acks.clear() == 1
    assert acks.generation == old.generation + 1
    acks.done(old)
    assert acks.ready() == []


@given(st.permutations(list(range(20))))
def test_any_completion_order_acks_in_arrival_order(order: list[int]) -> None:
    acks = AckQueue()
    entries = [acks.add(mid, 1, 1) for mid in range(20)]
    sent: list[int] = []
    for index in order:
        acks.done(entries[index])
        released = [mid for mid, _qos in acks.ready()]
        # Only finished messages are released, and only once all before them are.
        assert all(entries[mid].waiting == 0 for mid in released)
        sent += released
    assert sent == list(range(20))
