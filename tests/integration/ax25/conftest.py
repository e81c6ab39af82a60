"""Fixtures of the AX.25 integration tests: a Direwolf pair and the operator on its B side."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.integration.ax25.direwolf import DirewolfPair, installed
from tests.integration.ax25.radio_operator import NEW_CLIENT_DELAY, KissOperator


def require_direwolf() -> None:
    """Fail (in CI) or skip (locally) when direwolf is not installed, saying how to get it."""
    if not installed():
        missing("direwolf is not installed: run scripts/services.sh (apt-get install direwolf)")


def new_run_dir() -> Path:
    # Not pytest's tmp_path: ALSA's pipe command may not contain spaces, and short is better.
    return Path(tempfile.mkdtemp(prefix="dw-"))


@pytest.fixture(scope="module")
def direwolf() -> Iterator[DirewolfPair]:
    """Two Direwolf instances at 9600 baud, A with a KISS pty too, for one test module."""
    require_direwolf()
    pair = DirewolfPair.start(new_run_dir(), baud=9600, pty=True)
    yield pair
    pair.stop()


@pytest.fixture(scope="module")
def operator(direwolf: DirewolfPair) -> Iterator[KissOperator]:
    """The operator's KISS client on Direwolf B, connected once per module."""
    client = KissOperator(direwolf.b.kiss_port)
    time.sleep(NEW_CLIENT_DELAY)  # Direwolf starts reading a new client after up to 1 s
    yield client
    client.close()
