"""The Direwolf fixture's lossy channel (for tests that need a bad radio channel)."""

from __future__ import annotations

import argparse
import time

import pytest

from adapters.ax25.frame import Callsign
from tests.integration.ax25.air_relay import schedule
from tests.integration.ax25.conftest import new_run_dir, require_direwolf
from tests.integration.ax25.direwolf import DirewolfPair
from tests.integration.ax25.radio_operator import NEW_CLIENT_DELAY, KissOperator

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("loss", "sent", "heard"),
    [
        # every second transmission lost
        (["--drop-every", "2"], 4, [b"frame 0", b"frame 2"]),
        # a schedule drops the same transmissions every time: the 2nd, 4th, ...
        (["--drop-at", "2+2"], 5, [b"frame 0", b"frame 2", b"frame 4"]),
    ],
)
def test_the_relay_drops_the_transmissions_it_is_told_to(
    loss: list[str], sent: int, heard: list[bytes]
) -> None:
    require_direwolf()
    pair = DirewolfPair.start(new_run_dir(), baud=9600, loss=loss)
    a_side = KissOperator(pair.a.kiss_port)
    b_side = KissOperator(pair.b.kiss_port)
    try:
        time.sleep(NEW_CLIENT_DELAY)
        for n in range(sent):
            b_side.send_ui("N0CALL-2", "TEST", f"frame {n}".encode())
            time.sleep(0.4)  # one transmission each: the relay counts bursts
        got = [a_side.expect(lambda f: f.destination == Callsign("TEST"), 3) for _ in heard]
        assert [f.info for f in got] == heard
        assert a_side.take(lambda f: f.destination == Callsign("TEST")) == []
        assert pair.b.air_log().count("dropped") == sent - len(heard)
    finally:
        a_side.close()
        b_side.close()
        pair.stop()


def test_drop_at_parses_single_and_periodic_items() -> None:
    dropped = schedule("4+10, 7")
    assert [n for n in range(1, 40) if dropped(n)] == [4, 7, 14, 24, 34]
    for bad in ("0", "x", "3+-1", "3+"):
        with pytest.raises(argparse.ArgumentTypeError):
            schedule(bad)
