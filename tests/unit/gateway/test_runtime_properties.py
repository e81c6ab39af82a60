"""Property tests: whatever the interleaving, each scope sees its events in order and the
in-flight accounting returns to zero."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.exceptions import ScopeClosed
from gateway.runtime import ApplicationRuntime
from tests.unit.gateway.runtime_helpers import Recorder, unique_protocol

# (scope index, event kind): "msg" is handled normally, "boom" kills the instance.
plans = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["msg", "msg", "msg", "boom"])), max_size=60
)


async def run_plan(plan: list[tuple[int, str]], queue_size: int, max_in_flight: int) -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(
        rec.app(), unique_protocol(), queue_size=queue_size, max_in_flight=max_in_flight
    )
    delivered: dict[str, list[int]] = {}
    outcomes: list[asyncio.Future[None]] = []
    for n, (index, kind) in enumerate(plan):
        key = f"s{index}"
        handle = runtime.get(key) or await runtime.open_scope(
            key, {"type": "test", "key": key}, rec.send, on_close=rec.on_close
        )
        try:
            outcomes.append(await handle.deliver({"type": f"test.{kind}", "n": n}))
        except ScopeClosed:
            continue
        delivered.setdefault(key, []).append(n)
    await asyncio.gather(*outcomes, return_exceptions=True)
    await runtime.shutdown()
    assert runtime.in_flight == 0
    assert runtime.open_scopes == 0
    for key, numbers in delivered.items():
        taken = [message["n"] for message in rec.taken.get(key, [])]
        # Taken events are a prefix-preserving subsequence of what was delivered, in order.
        assert taken == sorted(taken)
        assert set(taken) <= set(numbers)
    for future in outcomes:
        assert future.done()


@settings(max_examples=60, deadline=None)
@given(plan=plans, queue_size=st.integers(1, 4), max_in_flight=st.integers(1, 6))
def test_order_and_accounting_hold_for_any_plan(
    plan: list[tuple[int, str]], queue_size: int, max_in_flight: int
) -> None:
    asyncio.run(asyncio.wait_for(run_plan(plan, queue_size, max_in_flight), 30))
