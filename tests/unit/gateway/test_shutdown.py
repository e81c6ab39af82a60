"""SIGTERM/SIGINT handling: first signal stops, second forces, originals restored."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from gateway.shutdown import ShutdownSignals, new_event_loop, run_until_signalled


async def test_first_signal_sets_stop_second_forces_and_handlers_are_restored() -> None:
    original = signal.getsignal(signal.SIGTERM)
    stop = asyncio.Event()
    forced = asyncio.Event()
    with ShutdownSignals(stop, force=forced.set) as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 5)
        assert not forced.is_set()
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.wait_for(forced.wait(), 5)
    assert signals.received == [signal.SIGTERM, signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) is original


def test_run_until_signalled_returns_main_result() -> None:
    async def main(stop: asyncio.Event) -> str:
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await stop.wait()
        return "stopped"

    assert run_until_signalled(main) == "stopped"


def test_run_until_signalled_second_signal_cancels_main() -> None:
    async def main(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await stop.wait()
        loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.Event().wait()  # ignores the stop: only the force ends it

    with pytest.raises(asyncio.CancelledError):
        run_until_signalled(main)


def test_new_event_loop_prefers_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
