"""docs/ax25-connected.md shows the state diagram drawn from the link's transition table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_docs_diagram_matches_the_table() -> None:
    spec = importlib.util.spec_from_file_location(
        "ax25_state_diagram", ROOT / "scripts" / "ax25_state_diagram.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    docs = (ROOT / "docs" / "ax25-connected.md").read_text()
    assert f"```mermaid\n{module.mermaid()}```" in docs, (
        "the state diagram in docs/ax25-connected.md is stale: paste the output of "
        "`.venv/bin/python scripts/ax25_state_diagram.py`"
    )
