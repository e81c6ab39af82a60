"""APRS dedupe set: repeats recognised within the window, across restarts, file problems."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from adapters.ax25.seen import SeenMessages


class Wall:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_repeat_within_window(tmp_path: Path) -> None:
    wall = Wall()
    seen = SeenMessages(str(tmp_path / "seen.tsv"), window=60, wall=wall)
    assert seen.first_time("BOT-1", "N0CALL-5", "1")
    assert not seen.first_time("BOT-1", "N0CALL-5", "1")
    assert seen.first_time("BOT-1", "N0CALL-5", "2")
    assert seen.first_time("BOT-2", "N0CALL-5", "1")
    wall.now += 61
    assert seen.first_time("BOT-1", "N0CALL-5", "1")


def test_remembered_across_restarts_and_compacted(tmp_path: Path) -> None:
    path = tmp_path / "seen.tsv"
    wall = Wall()
    first = SeenMessages(str(path), window=60, wall=wall)
    first.first_time("BOT-1", "N0CALL-5", "1")
    wall.now += 30
    first.first_time("BOT-1", "N0CALL-5", "2")
    with path.open("a") as file:
        file.write("garbage line\n12\tcut")  # a crash mid-write
    wall.now += 40  # message 1 expired, 2 not
    second = SeenMessages(str(path), window=60, wall=wall)
    assert len(second) == 1
    assert not second.first_time("BOT-1", "N0CALL-5", "2")
    assert second.first_time("BOT-1", "N0CALL-5", "1")
    assert len(path.read_text().splitlines()) == 2


def test_unwritable_file_warns_once_and_works_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING):
        seen = SeenMessages(str(blocker / "sub" / "seen.tsv"), window=60, wall=Wall())
        assert seen.first_time("BOT-1", "N0CALL-5", "1")
        assert not seen.first_time("BOT-1", "N0CALL-5", "1")
        assert seen.first_time("BOT-1", "N0CALL-5", "2")
    warnings = [r for r in caplog.records if "AX25_STATE_DIR" in r.getMessage()]
    assert len(warnings) == 1


def test_memory_only() -> None:
    seen = SeenMessages(None, window=60, wall=Wall())
    assert seen.first_time("A", "B", "1") and not seen.first_time("A", "B", "1")
