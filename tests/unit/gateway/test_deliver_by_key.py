"""ApplicationRuntime.deliver_by_key: opens scopes, keeps per-key order, reopens on
ScopeClosed, bounded attempts, per-key back-pressure, and one slow scope never delays another."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from gateway.clock import FakeClock
from gateway.exceptions import ScopeClosed
from gateway.runtime import ApplicationRuntime, ScopeHandle, ScopeSpec
from tests.unit.server.helpers import Recorder, settle, unique_protocol

Message = dict[str, Any]
DISCONNECT = {"type": "test.disconnect"}


class Opener:
    """Counts the scopes it opens; each gets an initial "test.connect" event."""

    def __init__(self, rec: Recorder, key: Hashable, **spec: Any) -> None:
        self.rec = rec
        self.key = key
        self.spec = spec
        self.opened = 0

    def __call__(self) -> ScopeSpec:
        self.opened += 1
        return ScopeSpec(
            scope={"type": "test", "key": self.key, "n": self.opened},
            send=self.rec.send,
            on_close=self.rec.on_close,
            initial_events=[{"type": "test.connect"}],
            **self.spec,
        )


def msg(n: Any, **extra: Any) -> Message:
    return {"type": "test.msg", "n": n, **extra}


def numbers(rec: Recorder, key: Hashable) -> list[Any]:
    return [m.get("n") for m in rec.taken.get(key, []) if m["type"] != "test.connect"]


async def test_the_first_event_opens_the_scope_with_its_initial_events_then_order_holds() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=2)
    opener = Opener(rec, "dev")
    futures = [runtime.deliver_by_key("dev", msg(n), opener) for n in range(10)]
    assert runtime.backlog("dev") == 10
    runtime.deliver_by_key("dev", {"type": "test.msg"}, opener)  # so the tenth handler returns
    await asyncio.gather(*futures)
    assert rec.taken["dev"][0] == {"type": "test.connect"}
    assert numbers(rec, "dev")[:10] == list(range(10))
    assert opener.opened == 1


async def test_it_can_be_called_from_a_synchronous_loop_callback() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    opener = Opener(rec, "serial")
    got: list[asyncio.Future[None]] = []
    loop = asyncio.get_running_loop()
    for n in range(3):  # as paho's or a serial port's callback would
        loop.call_soon(lambda n=n: got.append(runtime.deliver_by_key("serial", msg(n), opener)))
    await settle()
    runtime.deliver_by_key("serial", {"type": "test.msg"}, opener)
    await asyncio.gather(*got)
    assert numbers(rec, "serial")[:3] == [0, 1, 2]


async def test_events_an_ended_instance_never_took_reach_a_new_one_in_order() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    opener = Opener(rec, "k")
    stop = runtime.deliver_by_key("k", {"type": "test.stop", "n": "stop"}, opener)
    later = [runtime.deliver_by_key("k", msg(n), opener) for n in range(3)]
    runtime.deliver_by_key("k", {"type": "test.msg"}, opener)
    await stop
    await asyncio.gather(*later)
    assert opener.opened == 2
    assert numbers(rec, "k")[:4] == ["stop", 0, 1, 2]
    assert rec.closed[0] == ("k", None)


async def test_the_event_a_handler_raised_on_fails_and_the_rest_go_on(caplog) -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    opener = Opener(rec, "k")
    boom = runtime.deliver_by_key("k", {"type": "test.boom", "n": "boom"}, opener)
    after = runtime.deliver_by_key("k", msg("after"), opener)
    runtime.deliver_by_key("k", {"type": "test.msg"}, opener)
    with pytest.raises(RuntimeError, match="boom in k"):
        await boom
    await after
    assert numbers(rec, "k")[:2] == ["boom", "after"]
    assert opener.opened == 2


async def test_attempts_are_bounded_then_the_future_fails_logged_and_counted(caplog) -> None:
    async def quits_at_once(scope: Any, receive: Any, send: Any) -> None:
        return

    protocol = unique_protocol()
    rec = Recorder()
    runtime = ApplicationRuntime(quits_at_once, protocol, max_attempts=3)
    opener = Opener(rec, "k")
    with caplog.at_level(logging.WARNING, logger="gateway.delivery"):
        handled = runtime.deliver_by_key("k", msg(1), opener)
        with pytest.raises(ScopeClosed, match="3 instance"):
            await handled
    assert opener.opened == 3
    assert "dropping a 'test.msg' event" in caplog.text
    dropped = REGISTRY.get_sample_value(
        "gateway_events_dropped_total", {"protocol": protocol, "reason": "scope_closed"}
    )
    assert dropped == 1.0


async def test_after_an_idle_close_the_next_event_opens_a_scope_once_on_close_ran() -> None:
    rec = Recorder()
    clock = FakeClock()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), idle_timeout=60, clock=clock)
    closing_done = asyncio.Event()
    order: list[str] = []

    async def slow_on_close(handle: ScopeHandle, exc: BaseException | None) -> None:
        order.append("on_close start")
        await closing_done.wait()
        order.append("on_close end")

    def opener() -> ScopeSpec:
        order.append("open")
        return ScopeSpec({"type": "test", "key": "k"}, rec.send, slow_on_close, DISCONNECT)

    await runtime.deliver_by_key("k", msg(1), opener)
    clock.advance(60)
    await clock.settle()
    assert order == ["open", "on_close start"]
    again = runtime.deliver_by_key("k", msg(2), opener)
    await clock.settle()
    assert order == ["open", "on_close start"]  # waits for the old instance's on_close
    closing_done.set()
    await clock.settle()
    assert order == ["open", "on_close start", "on_close end", "open"]
    runtime.deliver_by_key("k", {"type": "test.msg"}, opener)
    await again
    await clock.settle()
    assert rec.taken["k"] == [msg(1), DISCONNECT, msg(2), {"type": "test.msg"}]


async def test_deliver_by_key_wait_holds_back_only_the_full_key() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=1)
    slow, other = Opener(rec, "slow"), Opener(rec, "other")
    await runtime.deliver_by_key_wait("slow", msg(0, gate="slow"), slow)
    await settle()  # slow's instance is stuck in its first handler
    for n in (1, 2):
        await runtime.deliver_by_key_wait("slow", msg(n), slow)
    assert runtime.backlog("slow") == 2  # one in the scope's queue, one in its lane
    blocked = asyncio.create_task(runtime.deliver_by_key_wait("slow", msg(3), slow))
    await settle()
    assert not blocked.done()
    handled = await runtime.deliver_by_key_wait("other", msg("x"), other)
    runtime.deliver_by_key("other", {"type": "test.msg"}, other)
    await handled  # "other" was neither slowed nor blocked by "slow"
    rec.gate("slow").set()
    last = await blocked
    runtime.deliver_by_key("slow", {"type": "test.msg"}, slow)
    await last
    assert numbers(rec, "slow")[:4] == [0, 1, 2, 3]


async def test_a_slow_handler_for_one_scope_never_delays_another() -> None:
    # The contract's promise, with the memory bound reached: "slow" holds far more than
    # max_in_flight events, yet "fast" events are taken and handled at once.
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=50, max_in_flight=4)
    slow, fast = Opener(rec, "slow"), Opener(rec, "fast")
    runtime.deliver_by_key("slow", msg("stuck", gate="slow"), slow)
    for n in range(100):
        runtime.deliver_by_key("slow", msg(n), slow)
    await settle()
    assert runtime.in_flight >= 4  # the bound is reached, by "slow" alone
    handled = [runtime.deliver_by_key("fast", msg(n), fast) for n in range(20)]
    runtime.deliver_by_key("fast", {"type": "test.msg"}, fast)
    await settle(50)
    assert all(future.done() for future in handled)
    assert numbers(rec, "fast")[:20] == list(range(20))
    assert numbers(rec, "slow") == ["stuck"]
    rec.gate("slow").set()
    runtime.deliver_by_key("slow", {"type": "test.msg"}, slow)
    await settle(200)
    assert numbers(rec, "slow")[:101] == ["stuck", *range(100)]


async def test_an_opener_that_raises_fails_the_backlog_with_its_error(caplog) -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())

    def broken() -> ScopeSpec:
        raise LookupError("no such device in the database")

    with caplog.at_level(logging.ERROR, logger="gateway.delivery"):
        handled = runtime.deliver_by_key("k", msg(1), broken)
        with pytest.raises(LookupError):
            await handled
    assert "cannot open the scope" in caplog.text
    assert runtime.backlog("k") == 0


async def test_shutdown_fails_what_is_left_and_nothing_opens_afterwards() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=1)
    opener = Opener(rec, "k", close_event=DISCONNECT)
    first = runtime.deliver_by_key("k", msg(0, gate="k"), opener)
    queued = [runtime.deliver_by_key("k", msg(n), opener) for n in (1, 2, 3)]
    await settle()
    shutting = asyncio.create_task(runtime.shutdown())
    await settle()
    rec.gate("k").set()
    await shutting
    await first
    results = await asyncio.gather(*queued, return_exceptions=True)
    assert all(result is None or isinstance(result, ScopeClosed) for result in results)
    late = runtime.deliver_by_key("k", msg(9), opener)
    with pytest.raises(ScopeClosed, match="shutting down"):
        await late


# -- property: whatever the interleaving, per-key order holds and every future settles ---------

plans = st.lists(
    st.tuples(
        st.integers(0, 2),  # key
        st.sampled_from(["msg", "msg", "msg", "boom", "stop"]),
        st.booleans(),  # let the loop run after this call
    ),
    max_size=40,
)


async def run_plan(plan: list[tuple[int, str, bool]], queue_size: int, max_in_flight: int) -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(
        rec.app(), unique_protocol(), queue_size=queue_size, max_in_flight=max_in_flight
    )
    openers = {key: Opener(rec, key) for key in range(3)}
    sent: list[tuple[int, int, str, asyncio.Future[None]]] = []
    for n, (key, kind, yield_after) in enumerate(plan):
        future = runtime.deliver_by_key(key, {"type": f"test.{kind}", "n": n}, openers[key])
        sent.append((key, n, kind, future))
        if yield_after:
            await asyncio.sleep(0)
    for key in range(3):  # so the last real event's handler returns
        runtime.deliver_by_key(key, {"type": "test.msg", "n": "end"}, openers[key])
    outcomes = await asyncio.gather(*(f for *_, f in sent), return_exceptions=True)
    await runtime.shutdown()
    for key in range(3):
        taken = [m["n"] for m in rec.taken.get(key, []) if isinstance(m.get("n"), int)]
        assert taken == sorted(set(taken))  # in order, each event once
    for (key, n, kind, _), outcome in zip(sent, outcomes):
        taken = {m.get("n") for m in rec.taken.get(key, [])}
        if outcome is None:
            assert n in taken
        elif isinstance(outcome, RuntimeError):
            assert kind == "boom" and n in taken
        else:
            assert isinstance(outcome, ScopeClosed) and n not in taken
    assert runtime.in_flight == 0 and runtime.backlog(0) == 0


@settings(max_examples=80, deadline=None)
@given(plan=plans, queue_size=st.integers(1, 3), max_in_flight=st.integers(1, 5))
def test_per_key_order_holds_and_every_future_settles_for_any_plan(
    plan: list[tuple[int, str, bool]], queue_size: int, max_in_flight: int
) -> None:
    asyncio.run(asyncio.wait_for(run_plan(plan, queue_size, max_in_flight), 30))
