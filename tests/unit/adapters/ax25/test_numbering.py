"""Our APRS message numbers continue across restarts."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from adapters.ax25.messaging import Messenger
from adapters.ax25.numbering import CounterFile


def test_next_run_continues_after_the_last_number(tmp_path: Path) -> None:
    counter = CounterFile(str(tmp_path / "msgno.txt"))
    assert counter.next_start(fallback=500) == 500
    first = Messenger(first_msgno=counter.next_start(fallback=500), on_number=counter.save)
    first.send("BOT-1", "N0CALL-5", "one", now=0)
    first.send("BOT-1", "N0CALL-6", "two", now=0)
    second = Messenger(first_msgno=CounterFile(counter.path).next_start(fallback=1))
    [t] = second.send("BOT-1", "N0CALL-5", "three", now=0)
    assert t.info.endswith(b"{502")


def test_unreadable_or_unwritable_counter(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "msgno.txt"
    bad.write_text("not a number")
    with caplog.at_level(logging.WARNING):
        assert CounterFile(str(bad)).next_start(fallback=7) == 7
        stuck = CounterFile(str(tmp_path / "missing-dir" / "msgno.txt"))
        stuck.save(1)
        stuck.save(2)
    assert "cannot read APRS message counter" in caplog.text
    assert caplog.text.count("cannot write APRS message counter") == 1
