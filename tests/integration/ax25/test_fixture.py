"""The Direwolf fixture's lossy channel (for tests that need a bad radio channel)."""

from __future__ import annotations

import time

import pytest

from adapters.ax25.frame import Callsign
from tests.integration.ax25.conftest import new_run_dir, require_direwolf
from tests.integration.ax25.direwolf import DirewolfPair
from tests.integration.ax25.radio_operator import NEW_CLIENT_DELAY, KissOperator

pytestmark = pytest.mark.integration


def test_drop_every_second_transmission() -> None:
    require_direwolf()
    pair = DirewolfPair.start(new_run_dir(), baud=9600, loss=["--drop-every", "2"])
    a_side = KissOperator(pair.a.kiss_port)
    b_side = KissOperator(pair.b.kiss_port)
    try:
        time.sleep(NEW_CLIENT_DELAY)
        for n in range(4):
            b_side.send_ui("N0CALL-2", "TEST", f"frame {n}".encode())
            time.sleep(0.4)  # one transmission each: the relay counts bursts
        heard = [a_side.expect(lambda f: f.destination == Callsign("TEST"), 3) for _ in range(2)]
        assert [f.info for f in heard] == [b"frame 0", b"frame 2"]
        assert a_side.take(lambda f: f.destination == Callsign("TEST")) == []
        assert pair.b.air_log().count("dropped") == 2
    finally:
        a_side.close()
        b_side.close()
        pair.stop()
