"""gateway.flood: verdicts on inbound messages per sender, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.clock import FakeClock
from gateway.exceptions import ConfigurationError
from gateway.flood import FloodControl, FloodPolicy, Verdict, describe_windows, parse_windows
from gateway.ratelimit import Window

ALLOW, WARN, DROP, CLOSE = Verdict.ALLOW, Verdict.WARN, Verdict.DROP, Verdict.CLOSE


def test_windows_are_parsed_from_count_slash_seconds() -> None:
    assert parse_windows("5/2, 40/60") == (Window(5, 2), Window(40, 60))
    assert parse_windows("") == ()
    assert describe_windows(parse_windows("5/2,40/60")) == "5 every 2 s, 40 every 60 s"


@pytest.mark.parametrize("text", ["5", "5/", "a/2", "5/0", "-1/2", "5/2/3"])
def test_a_bad_rate_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"CHAT_RATE_LIMIT: .* is not COUNT/SECONDS"):
        parse_windows(text, "CHAT_RATE_LIMIT")


def test_strikes_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        FloodPolicy((Window(1, 1),), strikes=0)


def test_over_the_rate_warn_once_drop_then_close() -> None:
    clock = FakeClock()
    flood = FloodControl(FloodPolicy((Window(3, 10),), strikes=3), clock)
    verdicts = [flood.check("ana") for _ in range(8)]
    assert verdicts == [ALLOW, ALLOW, ALLOW, WARN, DROP, DROP, CLOSE, CLOSE]
    assert flood.check("bob") is ALLOW  # per sender


def test_a_sender_that_slows_down_is_forgiven() -> None:
    clock = FakeClock()
    flood = FloodControl(FloodPolicy((Window(2, 1),), strikes=3), clock)
    assert [flood.check("ana") for _ in range(4)] == [ALLOW, ALLOW, WARN, DROP]
    clock.advance(1.0)  # dropped messages did not count: the window is free again
    assert [flood.check("ana") for _ in range(3)] == [ALLOW, ALLOW, WARN]


def test_forget_drops_the_strikes() -> None:
    flood = FloodControl(FloodPolicy((Window(1, 60),), strikes=2), FakeClock())
    assert [flood.check(1), flood.check(1)] == [ALLOW, WARN]
    flood.forget(1)
    assert flood.check(1) is WARN  # the rate still holds; the count of strikes starts over


def test_no_windows_no_limit() -> None:
    flood = FloodControl(FloodPolicy(()), FakeClock())
    assert all(flood.check("x") is ALLOW for _ in range(1000))


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), max_size=200),
    limit=st.integers(min_value=1, max_value=5),
    seconds=st.floats(min_value=0.5, max_value=5),
)
def test_never_more_allowed_than_the_window_holds(
    gaps: list[float], limit: int, seconds: float
) -> None:
    clock = FakeClock()
    flood = FloodControl(FloodPolicy((Window(limit, seconds),), strikes=3), clock)
    allowed: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        if flood.check("k") is ALLOW:
            allowed.append(clock.time())
    for i, start in enumerate(allowed):
        assert len([t for t in allowed[i:] if t < start + seconds]) <= limit
