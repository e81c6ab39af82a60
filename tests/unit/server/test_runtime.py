"""ApplicationRuntime and ScopeHandle: scopes, order, handled futures, errors, limits."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.clock import FakeClock
from gateway.exceptions import InvalidState, ScopeClosed
from gateway.runtime import ApplicationRuntime
from tests.unit.server.helpers import Recorder, sample, settle, unique_protocol

DISCONNECT = {"type": "test.disconnect"}


async def open_(runtime: ApplicationRuntime, rec: Recorder, key: str, **kwargs):
    return await runtime.open_scope(
        key,
        {"type": "test", "key": key, "path": f"/{key}/"},
        rec.send,
        on_close=rec.on_close,
        **kwargs,
    )


async def test_events_of_one_scope_are_taken_in_order() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    handle = await open_(runtime, rec, "a")
    futures = [await handle.deliver({"type": "test.msg", "n": n}) for n in range(20)]
    await asyncio.gather(*futures)
    assert [m["n"] for m in rec.taken["a"]] == list(range(20))


async def test_a_blocked_scope_does_not_delay_another() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    slow = await open_(runtime, rec, "slow")
    fast = await open_(runtime, rec, "fast")
    slow_handled = await slow.deliver({"type": "test.msg", "gate": "slow"})
    fast_handled = [await fast.deliver({"type": "test.msg", "n": n}) for n in range(3)]
    await fast.deliver({"type": "test.msg", "n": 3})  # so the third one's handler returns
    await asyncio.gather(*fast_handled)
    assert not slow_handled.done()
    rec.gate("slow").set()
    await slow.deliver({"type": "test.msg"})
    await slow_handled


async def test_handled_resolves_when_the_app_asks_for_the_next_event() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    handle = await open_(runtime, rec, "a")
    handled = await handle.deliver({"type": "test.msg", "gate": 1})
    await settle()
    assert rec.taken["a"] == [{"type": "test.msg", "gate": 1}]
    assert not handled.done()  # taken, but the handler has not returned
    rec.gate(1).set()
    await handled
    assert handled.result() is None


async def test_instance_return_frees_key_and_calls_on_close_with_none() -> None:
    rec = Recorder()
    protocol = unique_protocol()
    runtime = ApplicationRuntime(rec.app(), protocol)
    handle = await open_(runtime, rec, "a")
    assert runtime.open_scopes == 1
    assert sample("gateway_scopes_open", protocol=protocol) == 1
    stop_handled = await handle.deliver({"type": "test.stop", "gate": "s"})
    never_taken = await handle.deliver({"type": "test.msg"})
    rec.gate("s").set()
    await handle.wait_closed()
    await stop_handled
    with pytest.raises(ScopeClosed):
        await never_taken
    assert rec.closed == [("a", None)]
    assert runtime.get("a") is None
    assert runtime.open_scopes == 0
    assert runtime.in_flight == 0
    assert sample("gateway_scopes_open", protocol=protocol) == 0
    with pytest.raises(ScopeClosed):
        await handle.deliver({"type": "test.msg"})


async def test_app_exception_is_logged_with_scope_counted_and_given_to_on_close(caplog) -> None:
    rec = Recorder()
    protocol = unique_protocol()
    runtime = ApplicationRuntime(rec.app(), protocol)
    handle = await open_(runtime, rec, "dev42")
    other = await open_(runtime, rec, "other")
    with caplog.at_level(logging.ERROR, logger="gateway.runtime"):
        boom = await handle.deliver({"type": "test.boom", "gate": "b"})
        queued = await handle.deliver({"type": "test.msg"})
        rec.gate("b").set()
        with pytest.raises(RuntimeError, match="boom in dev42"):
            await boom
        await handle.wait_closed()
    with pytest.raises(ScopeClosed) as not_taken:
        await queued
    assert isinstance(not_taken.value.__cause__, RuntimeError)
    [(key, exc)] = rec.closed
    assert key == "dev42"
    assert isinstance(exc, RuntimeError)
    assert handle.exception is exc
    [record] = [r for r in caplog.records if r.name == "gateway.runtime"]
    assert record.levelno == logging.ERROR
    assert protocol in record.getMessage()
    assert "'dev42'" in record.getMessage()
    assert "path='/dev42/'" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[1] is exc
    assert sample("gateway_handler_errors_total", protocol=protocol) == 1
    # The other scope is untouched and the key can be reopened.
    await (await other.deliver({"type": "test.echo", "n": 1}))
    assert {"type": "test.reply", "n": 1} in rec.sent
    assert await open_(runtime, rec, "dev42")


async def test_send_reaches_the_adapter_and_is_counted() -> None:
    rec = Recorder()
    protocol = unique_protocol()
    runtime = ApplicationRuntime(rec.app(), protocol)
    handle = await open_(runtime, rec, "a")
    for n in range(3):
        await handle.deliver({"type": "test.echo", "n": n})
    await (await handle.deliver({"type": "test.msg"}))
    assert rec.sent == [{"type": "test.reply", "n": n} for n in range(3)]
    assert sample("gateway_events_out_total", protocol=protocol) == 3
    assert sample("gateway_events_in_total", protocol=protocol) == 4


async def test_idle_timeout_delivers_close_event_and_cleans_up() -> None:
    rec = Recorder()
    clock = FakeClock()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), idle_timeout=30, clock=clock)
    handle = await open_(runtime, rec, "a", close_event=DISCONNECT)
    await (await handle.deliver({"type": "test.msg"}))
    clock.advance(29.9)
    await clock.settle()
    assert not handle.closed
    clock.advance(0.1)
    await handle.wait_closed()
    assert rec.taken["a"] == [{"type": "test.msg"}, DISCONNECT]
    assert rec.closed == [("a", None)]
    assert runtime.get("a") is None


async def test_a_scope_busy_handling_an_event_is_not_idle() -> None:
    rec = Recorder()
    clock = FakeClock()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), idle_timeout=10, clock=clock)
    handle = await open_(runtime, rec, "a", close_event=DISCONNECT)
    handled = await handle.deliver({"type": "test.msg", "gate": "g"})
    await clock.settle()
    await clock.run_until(50.0)  # several idle periods pass while the handler runs
    assert not handle.closed
    rec.gate("g").set()
    await handled
    await clock.run_until(70.0)
    await handle.wait_closed()  # idle once the handler has returned
    assert rec.taken["a"][-1] == DISCONNECT


async def test_per_scope_idle_timeout_none_overrides_runtime_default() -> None:
    rec = Recorder()
    clock = FakeClock()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), idle_timeout=10, clock=clock)
    keep = await open_(runtime, rec, "keep", close_event=DISCONNECT, idle_timeout=None)
    idle = await open_(runtime, rec, "idle", close_event=DISCONNECT)
    await clock.run_until(100.0)
    await idle.wait_closed()
    assert runtime.get("keep") is keep
    assert not keep.closed


async def test_close_without_close_event_cancels_the_idle_instance() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    handle = await open_(runtime, rec, "a")
    handled = await handle.deliver({"type": "test.msg", "gate": "g"})
    closing = asyncio.create_task(handle.close())
    await settle()
    assert not closing.done()  # the pending event is still being handled
    rec.gate("g").set()
    await closing
    await handled
    assert rec.closed == [("a", None)]


async def test_close_with_reason_event_is_taken_after_pending_events() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    handle = await open_(runtime, rec, "a", close_event=DISCONNECT)
    await handle.deliver({"type": "test.msg", "n": 1})
    await handle.close({"type": "test.disconnect", "reason": "offline"})
    assert rec.taken["a"] == [
        {"type": "test.msg", "n": 1},
        {"type": "test.disconnect", "reason": "offline"},
    ]


async def test_close_cancels_an_instance_that_ignores_the_close_event(caplog) -> None:
    rec = Recorder()
    clock = FakeClock()
    runtime = ApplicationRuntime(
        rec.app(ignore_close=True), unique_protocol(), close_grace=5.0, clock=clock
    )
    handle = await open_(runtime, rec, "a", close_event=DISCONNECT)
    closing = asyncio.create_task(handle.close())
    await clock.settle()
    assert rec.taken["a"] == [DISCONNECT] and not closing.done()
    with caplog.at_level(logging.WARNING, logger="gateway.runtime"):
        clock.advance(5.0)
        await closing
    assert rec.closed == [("a", None)]
    assert "did not return within 5.0s" in caplog.text


async def test_deliver_waits_while_the_scope_queue_is_full() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=2)
    handle = await open_(runtime, rec, "a")
    first = await handle.deliver({"type": "test.msg", "gate": "g"})
    await settle()  # the app takes the first one and blocks in its handler
    await handle.deliver({"type": "test.msg", "n": 2})
    await handle.deliver({"type": "test.msg", "n": 3})
    assert handle.queued == 2
    blocked = asyncio.create_task(handle.deliver({"type": "test.msg", "n": 4}))
    await settle()
    assert not blocked.done()
    rec.gate("g").set()
    fourth = await blocked
    await first
    await handle.deliver({"type": "test.msg"})
    await fourth
    assert [m.get("n") for m in rec.taken["a"]][:4] == [None, 2, 3, 4]


async def test_max_in_flight_makes_only_the_scope_over_its_share_wait() -> None:
    # max_in_flight bounds memory without letting one slow scope stall the others: once it is
    # reached, only a scope holding more than max_in_flight // open scopes waits.
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), max_in_flight=2)
    a = await open_(runtime, rec, "a")
    b = await open_(runtime, rec, "b")
    await a.deliver({"type": "test.msg", "gate": "a"})
    await a.deliver({"type": "test.msg", "n": "a2"})
    assert runtime.in_flight == 2 and a.in_flight == 2
    blocked = asyncio.create_task(a.deliver({"type": "test.msg", "n": "a3"}))
    await settle()
    assert not blocked.done()  # a holds more than its share (2 // 2 scopes = 1)
    await (await b.deliver({"type": "test.msg", "n": "b"}))  # b is not held up by a
    await b.deliver({"type": "test.msg"})
    assert rec.taken["b"][0] == {"type": "test.msg", "n": "b"}
    assert not blocked.done()
    rec.gate("a").set()
    handled_a3 = await blocked  # a's own progress made room
    await a.deliver({"type": "test.msg"})
    await handled_a3
    assert [m.get("n") for m in rec.taken["a"]][:3] == [None, "a2", "a3"]


async def test_a_deliver_waiting_for_room_fails_when_the_scope_ends() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=1)
    handle = await open_(runtime, rec, "a")
    await handle.deliver({"type": "test.boom", "gate": "g"})
    await settle()
    await handle.deliver({"type": "test.msg"})
    blocked = asyncio.create_task(handle.deliver({"type": "test.msg"}))
    await settle()
    rec.gate("g").set()
    with pytest.raises(ScopeClosed):
        await blocked
    assert runtime.in_flight == 0


async def test_cancelled_deliver_passes_its_wake_up_on() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=1)
    a = await open_(runtime, rec, "a")
    await a.deliver({"type": "test.msg", "gate": "a"})
    await settle()  # taken: the handler waits on its gate
    await a.deliver({"type": "test.msg", "n": "queued"})
    gone = asyncio.create_task(a.deliver({"type": "test.msg", "n": "gone"}))
    kept = asyncio.create_task(a.deliver({"type": "test.msg", "n": "kept"}))
    await settle()
    gone.cancel()
    rec.gate("a").set()
    handled = await kept
    await a.deliver({"type": "test.msg"})
    await handled
    assert [m.get("n") for m in rec.taken["a"]][:3] == [None, "queued", "kept"]


async def test_shutdown_delivers_close_events_and_waits_for_instances() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    for key in ("a", "b"):
        handle = await open_(runtime, rec, key, close_event=DISCONNECT)
        await handle.deliver({"type": "test.msg"})
    await runtime.shutdown()
    assert rec.taken == {key: [{"type": "test.msg"}, DISCONNECT] for key in ("a", "b")}
    assert sorted(rec.closed) == [("a", None), ("b", None)]
    assert runtime.open_scopes == 0
    with pytest.raises(InvalidState, match="shutting down"):
        await open_(runtime, rec, "c")


async def test_shutdown_deadline_cancels_instances_that_ignore_the_close(caplog) -> None:
    rec = Recorder()
    clock = FakeClock()
    runtime = ApplicationRuntime(
        rec.app(ignore_close=True), unique_protocol(), shutdown_timeout=25.0, clock=clock
    )
    stubborn = await open_(runtime, rec, "stubborn", close_event=DISCONNECT)
    busy = await open_(runtime, rec, "busy")  # no close event, stuck in a handler
    busy_handled = await busy.deliver({"type": "test.msg", "gate": "never"})
    shutting = asyncio.create_task(runtime.shutdown())
    await clock.settle()
    assert not shutting.done()
    with caplog.at_level(logging.WARNING, logger="gateway.runtime"):
        clock.advance(25.0)
        await shutting
    assert "2 test-" in caplog.text and "after 25.0s: cancelling" in caplog.text
    assert stubborn.closed and busy.closed
    assert sorted(key for key, _ in rec.closed) == ["busy", "stubborn"]
    assert runtime.open_scopes == 0
    with pytest.raises(ScopeClosed):
        await busy_handled


async def test_duplicate_key_and_bad_limits_are_refused() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    await open_(runtime, rec, "a")
    with pytest.raises(InvalidState, match="already open"):
        await open_(runtime, rec, "a")
    with pytest.raises(ValueError, match="at least 1"):
        ApplicationRuntime(rec.app(), "x", queue_size=0)
