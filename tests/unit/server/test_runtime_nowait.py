"""ScopeHandle.deliver_nowait: queues like deliver() while there is room, else says so."""

from __future__ import annotations

import pytest

from gateway.exceptions import ScopeClosed
from gateway.runtime import ApplicationRuntime
from tests.unit.server.helpers import Recorder, settle, unique_protocol
from tests.unit.server.test_runtime import open_


async def test_deliver_nowait_queues_in_order_while_there_is_room() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), queue_size=2)
    handle = await open_(runtime, rec, "a")
    first = handle.deliver_nowait({"type": "test.msg", "gate": "g"})
    assert first is not None
    await settle()  # the app takes the first one and blocks in its handler
    second = handle.deliver_nowait({"type": "test.msg", "n": 2})
    third = handle.deliver_nowait({"type": "test.msg", "n": 3})
    assert second is not None and third is not None
    assert handle.deliver_nowait({"type": "test.msg", "n": 4}) is None  # full: nothing queued
    assert handle.queued == 2 and runtime.in_flight == 3
    rec.gate("g").set()
    await first
    await second
    await handle.deliver({"type": "test.msg", "n": 5})
    await third
    await settle()
    assert [m.get("n") for m in rec.taken["a"]] == [None, 2, 3, 5]


async def test_deliver_nowait_refuses_only_the_scope_over_its_share() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol(), max_in_flight=1)
    a = await open_(runtime, rec, "a")
    b = await open_(runtime, rec, "b")
    assert a.deliver_nowait({"type": "test.msg", "gate": "a"}) is not None
    assert a.deliver_nowait({"type": "test.msg"}) is None  # a holds its share of 1
    assert b.deliver_nowait({"type": "test.msg"}) is not None  # b does not wait for a
    await settle()
    assert rec.taken["b"] == [{"type": "test.msg"}]


async def test_deliver_nowait_on_a_closed_scope_raises() -> None:
    rec = Recorder()
    runtime = ApplicationRuntime(rec.app(), unique_protocol())
    handle = await open_(runtime, rec, "a")
    await handle.close()
    with pytest.raises(ScopeClosed, match="open a new scope"):
        handle.deliver_nowait({"type": "test.msg"})
