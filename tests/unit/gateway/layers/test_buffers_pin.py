"""ChannelBuffers.pin: a pinned channel keeps its buffer while empty, until discard()."""

from __future__ import annotations

import asyncio

from gateway.layers.buffers import ChannelBuffers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pinned_channel_survives_being_emptied_and_swept() -> None:
    clock = Clock()
    buffers = ChannelBuffers(clock=clock)
    buffers.pin("kept")
    buffers.put("kept", "m1", expires_at=10)
    buffers.put("free", "m2", expires_at=10)
    assert buffers.get_nowait("kept") == (True, "m1")
    assert buffers.get_nowait("free") == (True, "m2")
    assert buffers.names() == ["kept"]
    buffers.put("kept", "old", expires_at=5)
    clock.now = 11
    buffers.sweep(clock.now)
    assert "kept" in buffers
    assert buffers.pending("kept") == 0
    buffers.clear()
    assert "kept" in buffers
    assert buffers.discard("kept") == 0
    assert "kept" not in buffers


async def test_pinned_channel_wakes_its_waiter_and_cancel_keeps_it() -> None:
    buffers = ChannelBuffers()
    buffers.pin("kept")
    getter = asyncio.ensure_future(buffers.get("kept"))
    await asyncio.sleep(0)
    getter.cancel()
    await asyncio.gather(getter, return_exceptions=True)
    assert "kept" in buffers
    getter = asyncio.ensure_future(buffers.get("kept"))
    await asyncio.sleep(0)
    buffers.put("kept", "hello", expires_at=float("inf"))
    assert await getter == "hello"
    assert "kept" in buffers
