"""The AX.25 codecs and the messaging logic import no I/O (STYLE.md convention 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = ["frame.py", "kiss.py", "aprs.py", "messaging.py", "config.py", "links.py"]
FORBIDDEN = {"asyncio", "socket", "time", "select", "ssl", "threading", "serial", "os"}
PACKAGE = Path(__file__).resolve().parents[4] / "adapters" / "ax25"


@pytest.mark.parametrize("name", PURE)
def test_pure_module_imports_no_io(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text())
    # Imports for annotations only (under `if TYPE_CHECKING:`) do no I/O at run time.
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    imported = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{name} imports {imported & FORBIDDEN}"
