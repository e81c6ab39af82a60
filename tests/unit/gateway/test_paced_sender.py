"""PacedSender on a FakeClock: order per key, keys independent and in turn, 429 pauses,
retries with backoff, final errors, and aclose draining within its deadline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from typing import Any

import pytest

from gateway.backoff import Backoff
from gateway.clock import FakeClock
from gateway.exceptions import InvalidState, LocalProtocolError, OutboxClosed, RetryAfter
from gateway.pacing import PacedSender, RateLimiter, Window


class Peer:
    """The far end: records (time, key, item); fails or asks to wait when told to."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.got: list[tuple[float, Hashable, Any]] = []
        self.failures: dict[Any, list[BaseException]] = {}
        self.hold: asyncio.Event | None = None

    async def transmit(self, key: Hashable, item: Any) -> None:
        if self.hold is not None:
            await self.hold.wait()
        errors = self.failures.get(item)
        if errors:
            raise errors.pop(0)
        self.got.append((self.clock.time(), key, item))

    def items(self, key: Hashable | None = None) -> list[Any]:
        return [item for _, k, item in self.got if key is None or k == key]


def make(
    limiter: RateLimiter, clock: FakeClock | None = None, **kwargs: Any
) -> tuple[FakeClock, Peer, PacedSender]:
    clock = clock or FakeClock()
    peer = Peer(clock)
    sender = PacedSender(limiter, peer.transmit, name=f"test-{id(peer)}", clock=clock, **kwargs)
    return clock, peer, sender


async def test_items_of_a_key_leave_in_order_at_the_keys_rate() -> None:
    clock, peer, sender = make(RateLimiter(per_key=[Window(1, 1.0)]))
    futures = [sender.put("chat", n) for n in range(4)]
    assert sender.queued() == 4 and sender.queued("chat") == 4
    await clock.run_until(10.0)
    assert peer.got == [(float(n), "chat", n) for n in range(4)]
    assert all(future.done() and future.result() is None for future in futures)
    assert sender.queued() == 0
    await sender.aclose(1.0)


async def test_a_limited_key_never_delays_another_key() -> None:
    clock, peer, sender = make(RateLimiter(per_key=[Window(1, 60.0)]))
    for n in range(3):
        sender.put("busy", n)
    await clock.settle()
    quiet = sender.put("quiet", "hello")
    await clock.settle()
    assert quiet.done()  # sent at once although "busy" waits a minute per item
    assert peer.got == [(0.0, "busy", 0), (0.0, "quiet", "hello")]
    await clock.run_until(120.0)
    assert peer.items("busy") == [0, 1, 2]
    await sender.aclose(1.0)


async def test_keys_take_turns_under_the_overall_limit() -> None:
    clock, peer, sender = make(RateLimiter(overall=[Window(1, 1.0)]))
    for n in range(3):
        sender.put("a", n)
    for n in range(3):
        sender.put("b", n)
    await clock.run_until(10.0)
    assert [(t, k) for t, k, _ in peer.got] == [
        (0.0, "a"),
        (1.0, "b"),
        (2.0, "a"),
        (3.0, "b"),
        (4.0, "a"),
        (5.0, "b"),
    ]
    await sender.aclose(1.0)


async def test_retry_after_pauses_only_the_key_then_resends_the_same_item() -> None:
    clock, peer, sender = make(RateLimiter())
    peer.failures["first"] = [RetryAfter(5, key_only=True)]
    first = sender.put("chat", "first")
    second = sender.put("chat", "second")
    other = sender.put("other", "x")
    await clock.settle()
    assert peer.got == [(0.0, "other", "x")] and other.done()
    await clock.run_until(4.9)
    assert not first.done()
    await clock.run_until(6.0)
    assert peer.got[1:] == [(5.0, "chat", "first"), (5.0, "chat", "second")]
    assert first.done() and second.done()
    await sender.aclose(1.0)


async def test_a_global_retry_after_holds_every_key(caplog) -> None:
    clock, peer, sender = make(RateLimiter())
    peer.failures["a1"] = [RetryAfter(3)]
    sender.put("a", "a1")
    await clock.settle()
    sender.put("b", "b1")
    with caplog.at_level(logging.WARNING, logger="gateway.pacing"):
        await clock.run_until(10.0)
    assert peer.got == [(3.0, "a", "a1"), (3.0, "b", "b1")]
    assert "pausing every key" in caplog.text
    await sender.aclose(1.0)


async def test_failures_are_retried_with_backoff_and_recovery_is_logged(caplog) -> None:
    clock = FakeClock()
    backoff_logger = logging.getLogger("tests.paced")
    _, peer, sender = make(
        RateLimiter(),
        clock,
        backoff=lambda: Backoff("peer", logger=backoff_logger, random=lambda: 0.5, clock=clock),
    )
    peer.failures["m"] = [OSError("down"), OSError("down")]
    with caplog.at_level(logging.INFO):
        done = sender.put("k", "m")
        await clock.run_until(10.0)
    assert done.done() and done.result() is None
    assert peer.got == [(1.5, "k", "m")]  # tried at 0, 0.5 (after 0.5 s), 1.5 (after 1 s)
    messages = [r.getMessage() for r in caplog.records if r.name == "tests.paced"]
    assert messages == [
        "peer unreachable: down; retrying in 0.5s",
        "peer reachable again after 2 attempts, 1.5 s",
    ]
    await sender.aclose(1.0)


async def test_after_max_attempts_the_future_holds_the_error_and_it_is_logged(caplog) -> None:
    clock, peer, sender = make(RateLimiter(), max_attempts=2)
    peer.failures["doomed"] = [OSError("refused"), OSError("still refused")]
    doomed = sender.put("chat 9", "doomed")
    after = sender.put("chat 9", "next")
    with caplog.at_level(logging.ERROR, logger="gateway.pacing"):
        await clock.run_until(60.0)
    with pytest.raises(OSError, match="still refused"):
        doomed.result()
    assert after.done() and peer.items() == ["next"]
    assert "giving up on an item for key 'chat 9' after 2 attempt(s)" in caplog.text
    await sender.aclose(1.0)


async def test_give_up_on_fails_an_item_at_once() -> None:
    clock, peer, sender = make(RateLimiter(), give_up_on=(PermissionError,))
    peer.failures["blocked"] = [PermissionError("bot was blocked by the user")]
    blocked = sender.put("chat", "blocked")
    await clock.settle()
    assert isinstance(blocked.exception(), PermissionError)
    await sender.aclose(1.0)


async def test_aclose_drains_within_its_deadline_and_reports_what_is_left(caplog) -> None:
    clock, peer, sender = make(RateLimiter(per_key=[Window(1, 10.0)]))
    futures = [sender.put("slow", n) for n in range(3)]
    await clock.settle()
    closing = asyncio.create_task(sender.aclose(15.0))
    await clock.settle()
    with pytest.raises(InvalidState, match="closed"):
        sender.put("slow", "late")
    with caplog.at_level(logging.WARNING, logger="gateway.pacing"):
        await clock.run_until(16.0)
        await closing
    assert peer.items() == [0, 1]
    assert futures[0].done() and futures[1].done()
    assert isinstance(futures[2].exception(), OutboxClosed)
    assert "1 item(s) not sent after 15.0s, by key: 'slow': 1" in caplog.text


async def test_aclose_with_nothing_queued_returns_at_once() -> None:
    clock, peer, sender = make(RateLimiter())
    sender.put("k", 1)
    await clock.settle()
    await sender.aclose(5.0)
    assert peer.items() == [1]


async def test_aclose_cancels_a_transmission_that_hangs() -> None:
    clock, peer, sender = make(RateLimiter())
    peer.hold = asyncio.Event()
    hung = sender.put("k", "stuck")
    await clock.settle()
    closing = asyncio.create_task(sender.aclose(2.0))
    await clock.run_until(3.0)
    await closing
    assert isinstance(hung.exception(), OutboxClosed)


async def test_an_item_that_can_never_fit_is_refused_at_put() -> None:
    _, _, sender = make(RateLimiter(overall=[Window(2, 1.0)]))
    with pytest.raises(LocalProtocolError, match="can never fit"):
        sender.put("k", "huge", cost=3)
    await sender.aclose(1.0)
