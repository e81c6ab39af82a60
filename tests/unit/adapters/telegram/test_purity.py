"""The pure modules of the Telegram adapter import no I/O (STYLE.md convention 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PURE = ["mapping.py", "config.py"]
FORBIDDEN = {"asyncio", "socket", "time", "select", "ssl", "threading", "httpx", "django"}
PACKAGE = Path(__file__).resolve().parents[4] / "adapters" / "telegram"


@pytest.mark.parametrize("name", PURE)
def test_pure_module_imports_no_io(name: str) -> None:
    tree = ast.parse((PACKAGE / name).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{name} imports {imported & FORBIDDEN}"


def test_gateway_telegram_imports_no_adapter() -> None:
    source = (PACKAGE.parents[1] / "gateway" / "telegram" / "__init__.py").read_text()
    assert "adapters" not in {
        node.module.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
