"""RateLimiter: sliding windows overall and per key, margin, pauses, state()/restore()."""

from __future__ import annotations

import json
import math
from collections.abc import Hashable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.exceptions import ConfigurationError, LocalProtocolError
from gateway.pacing import RateLimiter, Window


def test_an_overall_window_refuses_the_send_that_would_exceed_it() -> None:
    limiter = RateLimiter(overall=[Window(3, 1.0)])
    assert [limiter.acquire(key, 0.0) for key in "abc"] == [0.0, 0.0, 0.0]
    assert limiter.acquire("d", 0.0) == 1.0
    assert limiter.acquire("d", 1.0) == 0.0


def test_the_window_slides_instead_of_resetting_at_bucket_boundaries() -> None:
    limiter = RateLimiter(overall=[Window(3, 1.0)])
    for now in (0.0, 0.5, 0.9):
        assert limiter.acquire("k", now) == 0.0
    assert limiter.acquire("k", 1.0) == 0.0  # the send at 0.0 has left (0.0, 1.0]
    assert limiter.delay("k", 1.2) == pytest.approx(0.3)  # 0.5 leaves at 1.5
    assert limiter.ready_at("k", 1.2) == 1.5


def test_a_key_at_its_limit_does_not_delay_another_key() -> None:
    limiter = RateLimiter(overall=[Window(30, 1.0)], per_key=[Window(1, 1.0)])
    assert limiter.acquire("chat 1", 0.0) == 0.0
    assert limiter.acquire("chat 1", 0.1) == pytest.approx(0.9)
    assert limiter.acquire("chat 2", 0.1) == 0.0


def test_per_key_windows_may_depend_on_the_key() -> None:
    def windows(chat: Hashable) -> list[Window]:
        groups = [Window(20, 60.0)] if isinstance(chat, int) and chat < 0 else []
        return [Window(1, 1.0), *groups]

    limiter = RateLimiter(per_key=windows)
    for second in range(20):
        assert limiter.acquire(-100, float(second)) == 0.0
        assert limiter.acquire(7, float(second)) == 0.0
    assert limiter.delay(-100, 20.0) == 40.0  # 20 a minute per group
    assert limiter.delay(7, 20.0) == 0.0  # a private chat has no minute limit


def test_costs_count_against_the_limit() -> None:
    limiter = RateLimiter(overall=[Window(10, 1.0)])
    assert limiter.acquire("k", 0.0, cost=6) == 0.0
    assert limiter.delay("k", 0.5, cost=5) == 0.5
    assert limiter.acquire("k", 0.5, cost=4) == 0.0


def test_margin_keeps_a_fraction_of_each_rate_free_even_for_a_limit_of_one() -> None:
    limiter = RateLimiter(per_key=[Window(1, 1.0)], margin=0.5)
    assert limiter.acquire("k", 0.0) == 0.0
    assert limiter.delay("k", 1.0) == 1.0  # the window is stretched to 2 s


def test_pause_holds_one_key_or_every_key() -> None:
    limiter = RateLimiter()
    limiter.pause("a", 5.0)
    assert limiter.delay("a", 1.0) == 4.0
    assert limiter.delay("b", 1.0) == 0.0
    limiter.pause(None, 3.0)
    assert limiter.delay("b", 1.0) == 2.0
    assert limiter.delay("a", 6.0) == 0.0


def test_impossible_costs_and_bad_settings_are_refused() -> None:
    limiter = RateLimiter(overall=[Window(2, 1.0)])
    with pytest.raises(LocalProtocolError, match="can never fit"):
        limiter.delay("k", 0.0, cost=3)
    with pytest.raises(LocalProtocolError, match="less than 0"):
        limiter.check("k", -1)
    with pytest.raises(ConfigurationError, match="margin"):
        RateLimiter(margin=1.0)
    with pytest.raises(ConfigurationError, match="positive limit"):
        Window(0, 1.0)


def test_keys_without_recent_sends_are_forgotten() -> None:
    limiter = RateLimiter(per_key=[Window(1, 1.0)])
    for n in range(100):
        limiter.acquire(n, 0.0)
    assert limiter.keys == 100
    limiter.acquire("late", 5.0)
    assert limiter.keys == 1


def test_state_survives_json_and_restores_onto_another_clock() -> None:
    limiter = RateLimiter(overall=[Window(3, 10.0)], per_key=[Window(1, 60.0)])
    limiter.acquire(42, 100.0)
    limiter.acquire(-7, 105.0)
    limiter.pause(42, 200.0)
    limiter.pause(None, 108.0)
    saved = json.loads(json.dumps(limiter.state(106.0)))

    fresh = RateLimiter(overall=[Window(3, 10.0)], per_key=[Window(1, 60.0)])
    fresh.restore(saved, now=6.0, key_from_str=int)  # a new process: its clock started anew
    assert fresh.ready_at(-7, 6.0) == 65.0  # -7 sent at 5.0 on this clock: free at 65.0
    assert fresh.ready_at(42, 6.0) == 100.0  # paused until 200.0 on the old clock
    assert fresh.ready_at(1, 6.0) == 8.0  # paused everything until 108.0 on the old clock
    assert fresh.acquire(1, 8.0) == 0.0
    assert fresh.ready_at(2, 8.0) == 10.0  # three sends in 10 s: the one at 0.0 leaves at 10.0

    later = RateLimiter(overall=[Window(3, 10.0)], per_key=[Window(1, 60.0)])
    later.restore(saved, now=6.0, key_from_str=int, elapsed=30.0)
    assert later.ready_at(-7, 6.0) == 35.0  # 30 s passed while the process was down


def test_a_state_that_is_not_ours_is_refused_with_what_to_do() -> None:
    limiter = RateLimiter()
    for bad in ({}, {"version": 99}, {"version": 1, "now": 0, "overall": [[1]]}):
        with pytest.raises(ConfigurationError, match="delete the saved state"):
            limiter.restore(bad, 0.0)


# -- properties ---------------------------------------------------------------------------------

windows = st.lists(
    st.builds(Window, limit=st.integers(1, 4), seconds=st.sampled_from([0.5, 1.0, 2.5, 10.0])),
    max_size=2,
)
steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.0, 0.1, 0.25, 0.5, 1.0, 3.0]),  # time step
        st.sampled_from(["a", "b", "c"]),  # key
        st.sampled_from([0.5, 1.0, 1.0, 2.0]),  # cost
    ),
    max_size=60,
)


def limits_fit(overall: list[Window], per_key: list[Window], cost: float) -> bool:
    return all(cost <= window.limit for window in (*overall, *per_key))


def assert_windows_hold(
    sends: list[tuple[float, str, float]], window: Window, margin: float, key: str | None
) -> None:
    span = window.seconds / (1.0 - margin)
    mine = [(t, c) for t, k, c in sends if key is None or k == key]
    for end, _ in mine:  # the busiest windows end at a send
        used = sum(c for t, c in mine if t <= end and t + span > end)
        assert used <= window.limit, (window, key, end, used)


@settings(max_examples=200, deadline=None)
@given(overall=windows, per_key=windows, margin=st.sampled_from([0.0, 0.1, 0.5]), plan=steps)
def test_no_window_is_ever_exceeded_by_acquire(overall, per_key, margin, plan) -> None:
    limiter = RateLimiter(overall=overall, per_key=per_key, margin=margin)
    now = 0.0
    sends: list[tuple[float, str, float]] = []
    for step, key, cost in plan:
        now += step
        if not limits_fit(overall, per_key, cost):
            continue
        delay = limiter.acquire(key, now, cost)
        if delay == 0.0:
            sends.append((now, key, cost))
        else:
            # The delay is exact: the send fits at the ready time (probed on a copy, as
            # time may not go back in the limiter itself).
            assert delay > 0
            probe = RateLimiter(overall=overall, per_key=per_key, margin=margin)
            probe.restore(limiter.state(now), now)
            assert probe.acquire(key, limiter.ready_at(key, now, cost), cost) == 0.0
    for window in overall:
        assert_windows_hold(sends, window, margin, None)
    for window in per_key:
        for key in "abc":
            assert_windows_hold(sends, window, margin, key)
            # The margin makes the plain window hold too.
            assert_windows_hold(sends, window, 0.0, key)


@settings(max_examples=150, deadline=None)
@given(overall=windows, per_key=windows, before=steps, after=steps, pause=st.booleans())
def test_state_and_restore_preserve_every_later_decision(
    overall, per_key, before, after, pause
) -> None:
    original = RateLimiter(overall=overall, per_key=per_key)
    now = 0.0
    for step, key, cost in before:
        now += step
        if limits_fit(overall, per_key, cost):
            original.acquire(key, now, cost)
    if pause:
        original.pause("b", now + 1.5)
        original.pause(None, now + 0.5)
    restored = RateLimiter(overall=overall, per_key=per_key)
    restored.restore(json.loads(json.dumps(original.state(now))), now)
    for step, key, cost in after:
        now += step
        if not limits_fit(overall, per_key, cost):
            continue
        assert restored.acquire(key, now, cost) == original.acquire(key, now, cost)
    assert math.isfinite(now)
