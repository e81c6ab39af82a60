"""Backoff: capped exponential delays with jitter, one WARNING per outage, reset on success."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.backoff import Backoff
from gateway.clock import FakeClock
from gateway.exceptions import ConfigurationError

logger = logging.getLogger("tests.backoff")


def make(clock: FakeClock | None = None, random: float = 0.5, **kwargs: float) -> Backoff:
    return Backoff("broker x", logger=logger, random=lambda: random, clock=clock, **kwargs)


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    backoff = make(initial=0.5, maximum=4.0, factor=2.0)  # random 0.5: no jitter
    assert [backoff.failed() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.attempts == 6 and backoff.in_outage


@pytest.mark.parametrize(("random", "expected"), [(0.0, 0.8), (0.999999, 1.2)])
def test_jitter_moves_each_delay_by_at_most_its_fraction(random: float, expected: float) -> None:
    backoff = make(random=random, initial=1.0, jitter=0.2)
    assert backoff.failed() == pytest.approx(expected, abs=1e-5)


def test_jitter_never_exceeds_the_cap() -> None:
    backoff = make(random=0.999999, initial=10.0, maximum=10.0, jitter=0.5)
    assert backoff.failed() == 10.0


def test_one_warning_per_outage_then_debug_then_one_info_on_recovery(caplog) -> None:
    clock = FakeClock(start=100.0)
    backoff = make(clock)
    with caplog.at_level(logging.DEBUG, logger="tests.backoff"):
        for _ in range(5):
            clock.advance(backoff.failed(ConnectionRefusedError("refused")))
        backoff.succeeded()
    levels = [record.levelname for record in caplog.records]
    assert levels == ["WARNING", "DEBUG", "DEBUG", "DEBUG", "DEBUG", "INFO"]
    assert caplog.records[0].getMessage() == "broker x unreachable: refused; retrying in 0.5s"
    assert caplog.records[-1].getMessage() == "broker x reachable again after 5 attempts, 15.5 s"
    assert backoff.attempts == 0 and not backoff.in_outage
    assert backoff.failed() == 0.5  # reset: the next outage starts small again


def test_success_without_an_outage_logs_nothing(caplog) -> None:
    backoff = make()
    with caplog.at_level(logging.DEBUG, logger="tests.backoff"):
        backoff.succeeded()
    assert caplog.records == []


def test_bad_bounds_are_refused_with_what_to_change() -> None:
    with pytest.raises(ConfigurationError, match="initial <= maximum"):
        make(initial=5.0, maximum=1.0)
    with pytest.raises(ConfigurationError, match="jitter"):
        make(jitter=1.0)


async def test_wait_sleeps_the_delay_on_the_clock() -> None:
    clock = FakeClock()
    backoff = make(clock)
    waiting = asyncio.create_task(backoff.wait(OSError("down")))
    await clock.settle()
    clock.advance(0.4)
    await clock.settle()
    assert not waiting.done()
    clock.advance(0.1)
    await waiting
    assert backoff.attempts == 1


async def test_wait_returns_early_when_stop_is_set() -> None:
    clock = FakeClock()
    stop = asyncio.Event()
    backoff = make(clock, initial=30.0)
    waiting = asyncio.create_task(backoff.wait(OSError("down"), stop=stop))
    await clock.settle()
    stop.set()
    await waiting
    assert clock.time() == 0.0 and clock.pending_timers == 0
    await backoff.wait(stop=stop)  # already set: no sleep at all
