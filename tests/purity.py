"""Shared by the purity tests: which top-level modules a source file imports (STYLE.md rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

#: Modules a sans-I/O file must not import: sockets, clocks, event loops, threads, devices.
IO_MODULES = frozenset({"asyncio", "socket", "time", "select", "ssl", "threading", "serial"})


def imported_modules(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    return imported
