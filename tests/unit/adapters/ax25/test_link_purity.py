"""The link modules are sans-I/O (STYLE.md convention 1): no sockets, clocks or event loops."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.purity import IO_MODULES, imported_modules

PACKAGE = Path(__file__).resolve().parents[4] / "adapters" / "ax25"


@pytest.mark.parametrize("name", ["link.py", "link_events.py"])
def test_link_modules_import_no_io(name: str) -> None:
    found = imported_modules(PACKAGE / name) & IO_MODULES
    assert not found, f"{name} imports {found}"
