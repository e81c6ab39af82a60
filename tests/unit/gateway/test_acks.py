"""OrderedAcks: out-of-order completions released as an in-order prefix; stuck-time metrics."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from gateway.acks import OrderedAcks
from gateway.clock import FakeClock


def recorder() -> tuple[list[list[int]], OrderedAcks[int]]:
    released: list[list[int]] = []
    return released, OrderedAcks(released.append, clock=FakeClock())


def test_completions_out_of_order_release_in_arrival_order() -> None:
    released, acks = recorder()
    tickets = [acks.add(mid) for mid in (10, 11, 12, 13)]
    acks.complete(tickets[2])
    acks.complete(tickets[1])
    assert released == []  # 10 is still running: nothing may be acknowledged
    acks.complete(tickets[0])
    assert released == [[10, 11, 12]]
    acks.complete(tickets[3])
    assert released == [[10, 11, 12], [13]]
    assert acks.pending == 0 and acks.oldest_age() is None


def test_an_item_with_several_parts_waits_for_all_of_them() -> None:
    released, acks = recorder()
    both = acks.add(1, parts=2)
    later = acks.add(2)
    acks.complete(later)
    acks.complete(both)
    assert released == []
    acks.complete(both)
    assert released == [[1, 2]]
    acks.complete(both)  # one completion too many: ignored
    assert released == [[1, 2]]


def test_zero_parts_is_done_at_once_but_still_in_order() -> None:
    released, acks = recorder()
    first = acks.add(1)
    acks.add(2, parts=0)
    assert released == []
    acks.complete(first)
    assert released == [[1, 2]]
    acks.add(3, parts=0)
    assert released == [[1, 2], [3]]


def test_clear_drops_waiting_items_and_ignores_their_late_completions() -> None:
    released, acks = recorder()
    old = acks.add(1)
    acks.add(2)
    assert acks.clear() == [1, 2]
    new = acks.add(1)  # e.g. the same packet id on the next connection
    acks.complete(old)
    assert released == []
    acks.complete(new)
    assert released == [[1]]


async def test_track_completes_when_the_handled_future_ends_however_it_ends() -> None:
    released, acks = recorder()
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(3)]
    for mid, future in enumerate(futures):
        acks.track(mid, future)
    futures[2].set_result(None)
    futures[1].set_exception(RuntimeError("handler failed"))
    futures[1].exception()
    futures[0].cancel()
    await asyncio.sleep(0)  # done callbacks run on the loop
    assert released == [[0, 1, 2]]


async def test_a_release_that_raises_is_logged_from_track(caplog) -> None:
    def release(items: list[int]) -> None:
        raise OSError("socket gone")

    acks: OrderedAcks[int] = OrderedAcks(release, clock=FakeClock())
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    acks.track(1, future)
    future.set_result(None)
    await asyncio.sleep(0)
    assert "releasing acknowledgements" in caplog.text and "socket gone" in caplog.text


def test_stuck_time_and_pending_are_metrics_labelled_by_name() -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    clock = FakeClock(start=50.0)
    released: list[list[str]] = []
    acks: OrderedAcks[str] = OrderedAcks(released.append, clock=clock, name=name)

    def metric(metric_name: str) -> float | None:
        return REGISTRY.get_sample_value(metric_name, {"name": name})

    assert metric("gateway_ack_pending") == 0.0
    assert metric("gateway_ack_stuck_seconds") == 0.0
    stuck = acks.add("update 7")
    clock.advance(3)
    done = acks.add("update 8")
    acks.complete(done)
    clock.advance(4.5)
    assert acks.oldest() == "update 7"
    assert metric("gateway_ack_pending") == 2.0
    assert metric("gateway_ack_stuck_seconds") == 7.5
    acks.complete(stuck)
    assert metric("gateway_ack_stuck_seconds") == 0.0
    assert released == [["update 7", "update 8"]]


@given(
    parts=st.lists(st.integers(0, 3), max_size=30),
    order=st.randoms(use_true_random=False),
)
def test_released_items_are_always_the_done_prefix_in_arrival_order(parts, order) -> None:
    released: list[list[int]] = []
    acks: OrderedAcks[int] = OrderedAcks(released.append, clock=FakeClock())
    tickets = [acks.add(n, parts=p) for n, p in enumerate(parts)]
    completions = [ticket for ticket, p in zip(tickets, parts) for _ in range(p)]
    order.shuffle(completions)
    for ticket in completions:
        acks.complete(ticket)
        flat = [item for batch in released for item in batch]
        assert flat == list(range(len(flat)))  # a prefix, in order, each item once
        assert all(t.done for t in tickets[: len(flat)])
        assert len(flat) == len(tickets) or not tickets[len(flat)].done
    assert [item for batch in released for item in batch] == list(range(len(parts)))
    assert acks.pending == 0
