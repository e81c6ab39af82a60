"""adapters.web.protocol: the lean event queue and flag behind uvicorn's WebSocket protocol."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.server import ServerState

from adapters.web.protocol import EventQueue, Flag
from adapters.web.uvicorn_compat import LeanWebSocketProtocol

# A script of operations: an int is put, None is a get (skipped when the queue is empty).
operations = st.lists(st.one_of(st.integers(), st.none()), max_size=60)


@given(operations)
def test_the_queue_behaves_like_asyncio_queue(script: list[int | None]) -> None:
    async def run(queue: EventQueue | asyncio.Queue[int]) -> list[object]:
        seen: list[object] = []
        for item in script:
            if item is not None:
                queue.put_nowait(item)
            elif not queue.empty():
                seen.append(await queue.get())
            seen.append(queue.qsize())
        return seen

    assert asyncio.run(run(EventQueue())) == asyncio.run(run(asyncio.Queue()))


async def test_a_get_waits_for_a_put() -> None:
    queue = EventQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait("event")
    assert await getter == "event"
    assert queue.empty()


async def test_a_cancelled_get_loses_nothing() -> None:
    queue = EventQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    queue.put_nowait("kept")
    assert await queue.get() == "kept"


async def test_a_get_woken_and_cancelled_at_once_passes_the_item_on() -> None:
    queue = EventQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, 5) == "only"
    assert first.cancelled()


async def test_the_flag_starts_set_and_blocks_only_while_cleared() -> None:
    flag = Flag()
    assert flag.is_set()
    assert await flag.wait() is True
    flag.clear()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters)
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True]


async def test_a_cancelled_flag_wait_is_forgotten() -> None:
    flag = Flag()
    flag.clear()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    flag.set()
    assert await flag.wait() is True


async def test_uvicorns_protocol_still_has_the_attributes_we_replace() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        return None

    config = uvicorn.Config(app, ws=LeanWebSocketProtocol, lifespan="off", log_config=None)
    config.load()
    protocol = LeanWebSocketProtocol(config, ServerState(), app_state={})
    assert isinstance(protocol.queue, EventQueue)
    assert isinstance(protocol.writable, Flag)
    assert protocol.writable.is_set()
