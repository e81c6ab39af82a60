"""gateway.utils: naming things, header lists, and the dispatch loop every consumer runs."""

from __future__ import annotations

import asyncio

import pytest

from gateway.exceptions import StopConsumer
from gateway.layers.buffers import ChannelBuffers
from gateway.utils import await_many_dispatch, header_list, name_that_thing


class Widget:
    def method(self) -> None:
        """A plain method."""

    @classmethod
    def factory(cls) -> None:
        """A class method."""


def helper() -> None:
    """A plain function."""


def test_name_that_thing_names_classes_functions_and_methods() -> None:
    assert name_that_thing(Widget) == f"{__name__}.Widget"
    assert name_that_thing(helper) == f"{__name__}.helper"
    assert name_that_thing(Widget().method) == f"{__name__}.Widget.method"
    assert name_that_thing(Widget.factory) == f"{__name__}.Widget.factory"
    assert name_that_thing(Widget.method) == f"{__name__}.Widget.method"


def test_name_that_thing_names_an_instance_by_its_class() -> None:
    assert name_that_thing(Widget()) == f"{__name__}.Widget"
    assert name_that_thing(42) == "builtins.int"
    assert name_that_thing(len) == "builtins.len"


def test_header_list_accepts_pairs_and_mappings_in_bytes_or_str() -> None:
    assert header_list(None) == []
    assert header_list([(b"x-a", b"1"), ("X-B", "2")]) == [(b"x-a", b"1"), (b"X-B", b"2")]
    assert header_list({"Content-Type": b"text/plain"}) == [(b"Content-Type", b"text/plain")]


def queue_receiver(queue: asyncio.Queue[object]):
    async def receive() -> object:
        return await queue.get()

    return receive


async def test_dispatches_messages_from_every_source_in_order() -> None:
    client: asyncio.Queue[object] = asyncio.Queue()
    layer: asyncio.Queue[object] = asyncio.Queue()
    seen: list[object] = []

    async def dispatch(message: object) -> None:
        seen.append(message)
        if message == "stop":
            raise StopConsumer

    for item in ("c1", "c2"):
        client.put_nowait(item)
    layer.put_nowait("l1")
    runner = asyncio.create_task(
        await_many_dispatch([queue_receiver(client), queue_receiver(layer)], dispatch)
    )
    while len(seen) < 3:
        await asyncio.sleep(0)
    client.put_nowait("stop")
    with pytest.raises(StopConsumer):
        await runner
    assert sorted(seen[:3]) == ["c1", "c2", "l1"]
    assert seen.index("c1") < seen.index("c2")
    assert seen[-1] == "stop"


async def test_dispatch_is_sequential() -> None:
    client: asyncio.Queue[object] = asyncio.Queue()
    active = 0
    most_active = 0
    handled = 0

    async def dispatch(message: object) -> None:
        nonlocal active, most_active, handled
        active += 1
        most_active = max(most_active, active)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        active -= 1
        handled += 1
        if handled == 5:
            raise StopConsumer

    for index in range(5):
        client.put_nowait(index)
    with pytest.raises(StopConsumer):
        await await_many_dispatch([queue_receiver(client), queue_receiver(client)], dispatch)
    assert most_active == 1


class PendingReceive:
    """A receive callable that never returns; records when it starts and is cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> object:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


async def refuse(message: object) -> None:
    raise AssertionError(f"nothing should be dispatched, got {message!r}")


async def test_pending_receives_are_cancelled_when_dispatch_raises() -> None:
    client: asyncio.Queue[object] = asyncio.Queue()
    layer_receive = PendingReceive()

    async def dispatch(message: object) -> None:
        raise RuntimeError("handler failed")

    client.put_nowait("boom")
    with pytest.raises(RuntimeError, match="handler failed"):
        await await_many_dispatch([queue_receiver(client), layer_receive], dispatch)
    assert layer_receive.cancelled


async def test_an_error_in_a_receive_callable_propagates() -> None:
    async def broken() -> object:
        raise ConnectionError("layer went away")

    with pytest.raises(ConnectionError, match="layer went away"):
        await await_many_dispatch([broken], refuse)


async def test_cancelling_the_loop_cancels_the_receives_and_propagates() -> None:
    receive = PendingReceive()
    runner = asyncio.create_task(await_many_dispatch([receive], refuse))
    await receive.started.wait()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert receive.cancelled


def recorder(seen: list[object], stop_after: int):
    """A dispatch coroutine that records messages and stops after ``stop_after`` of them."""

    async def dispatch(message: object) -> None:
        seen.append(message)
        if len(seen) == stop_after:
            raise StopConsumer

    return dispatch


async def test_a_busy_client_does_not_starve_the_layer() -> None:
    client: asyncio.Queue[object] = asyncio.Queue()
    layer: asyncio.Queue[object] = asyncio.Queue()
    seen: list[object] = []
    dispatch = recorder(seen, 50)
    for index in range(100):
        client.put_nowait(index)
    layer.put_nowait("from the layer")
    with pytest.raises(StopConsumer):
        await await_many_dispatch([queue_receiver(client), queue_receiver(layer)], dispatch)
    # Ready messages are taken round-robin: the layer's comes right after the first client one.
    assert seen[:3] == [0, "from the layer", 1]


class CountingReceiver:
    """Hands out 0, 1, 2, ... from a queue and counts how often it was called."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        return await self.queue.get()


async def test_a_callable_is_called_again_only_after_its_message_was_dispatched() -> None:
    client = CountingReceiver()
    calls_during_dispatch: list[int] = []

    async def dispatch(message: object) -> None:
        await asyncio.sleep(0)
        calls_during_dispatch.append(client.calls)
        if message == 2:
            raise StopConsumer

    for index in range(3):
        client.queue.put_nowait(index)
    with pytest.raises(StopConsumer):
        await await_many_dispatch([client, PendingReceive()], dispatch)
    assert calls_during_dispatch == [1, 2, 3]


async def test_a_read_ahead_callable_holds_at_most_one_message_while_dispatch_runs() -> None:
    layer = CountingReceiver()
    release = asyncio.Event()
    seen: list[object] = []

    async def dispatch(message: object) -> None:
        seen.append(message)
        if message == 0:
            await release.wait()  # a slow handler: the layer is read ahead meanwhile
        if message == 4:
            raise StopConsumer

    for index in range(5):
        layer.queue.put_nowait(index)
    runner = asyncio.create_task(
        await_many_dispatch([PendingReceive(), layer], dispatch, read_ahead=(1,))
    )
    while layer.calls < 3:
        await asyncio.sleep(0)
    for _ in range(5):
        await asyncio.sleep(0)
    # Message 0 is being dispatched, 1 is handed over, 2 is held by the pump: no more taken.
    assert layer.calls == 3
    assert layer.queue.qsize() == 2
    release.set()
    with pytest.raises(StopConsumer):
        await runner
    assert seen == [0, 1, 2, 3, 4]


async def test_read_ahead_keeps_the_order_of_every_source() -> None:
    client: asyncio.Queue[object] = asyncio.Queue()
    layer: asyncio.Queue[object] = asyncio.Queue()
    seen: list[object] = []
    dispatch = recorder(seen, 40)
    for index in range(20):
        client.put_nowait(("client", index))
        layer.put_nowait(("layer", index))
    with pytest.raises(StopConsumer):
        await await_many_dispatch(
            [queue_receiver(client), queue_receiver(layer)], dispatch, read_ahead=(1,)
        )
    for source in ("client", "layer"):
        assert [index for name, index in seen if name == source] == list(range(20))


class BufferPoller:
    """A poller over a real ChannelBuffers channel, as a consumer's in-memory channel."""

    def __init__(self, buffers: ChannelBuffers, name: str) -> None:
        self.buffers, self.name = buffers, name

    def poll(self) -> tuple[bool, object]:
        return self.buffers.get_nowait(self.name)

    def watch(self, waiter: asyncio.Future[None]) -> None:
        self.buffers.watch(self.name, waiter)

    def unwatch(self, waiter: asyncio.Future[None]) -> None:
        self.buffers.unwatch(self.name, waiter)


async def test_a_poller_and_a_callable_keep_the_order_of_each() -> None:
    client: asyncio.Queue[object] = asyncio.Queue()
    buffers = ChannelBuffers()
    seen: list[object] = []
    dispatch = recorder(seen, 40)
    for index in range(20):
        client.put_nowait(("client", index))
        buffers.put("chan", ("layer", index), expires_at=float("inf"))
    with pytest.raises(StopConsumer):
        await await_many_dispatch(
            [queue_receiver(client)], dispatch, pollers=(BufferPoller(buffers, "chan"),)
        )
    for source in ("client", "layer"):
        assert [index for name, index in seen if name == source] == list(range(20))


async def test_a_message_put_while_waiting_wakes_the_dispatcher() -> None:
    client: asyncio.Queue[object] = asyncio.Queue()
    buffers = ChannelBuffers()
    seen: list[object] = []

    async def dispatch(message: object) -> None:
        seen.append(message)

    runner = asyncio.create_task(
        await_many_dispatch(
            [queue_receiver(client)], dispatch, pollers=(BufferPoller(buffers, "chan"),)
        )
    )
    while not buffers.has_waiters("chan"):
        await asyncio.sleep(0)
    buffers.put("chan", "from the layer", expires_at=float("inf"))
    while not seen:
        await asyncio.sleep(0)
    assert seen == ["from the layer"]
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    # Cancelled while waiting: its watch is gone, and so is the channel's empty buffer.
    assert not buffers.has_waiters("chan")
    assert len(buffers) == 0
