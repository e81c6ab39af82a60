"""The pure modules import no I/O (STYLE.md convention 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = [
    "gateway/mqtt/topics.py",
    "gateway/mqtt/events.py",
    "adapters/mqtt/config.py",
    "adapters/mqtt/mapping.py",
    "adapters/mqtt/acks.py",
    "adapters/mqtt/packets.py",
]
FORBIDDEN = {"asyncio", "socket", "time", "select", "ssl", "threading", "paho"}
ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize("name", PURE)
def test_pure_module_imports_no_io(name: str) -> None:
    tree = ast.parse((ROOT / name).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{name} imports {imported & FORBIDDEN}"
