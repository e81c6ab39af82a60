"""Print the AX.25 link state diagram (mermaid) drawn from adapters/ax25/link.py's table.

docs/ax25-connected.md embeds its output; tests/unit/adapters/ax25/test_link_docs.py fails when
the two differ. Run: ``.venv/bin/python scripts/ax25_state_diagram.py``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.ax25.link import TRANSITIONS, LinkState


def mermaid() -> str:
    """The diagram: one arrow per (state, next state), labelled with the inputs that take it."""
    edges: dict[tuple[LinkState, LinkState], list[str]] = defaultdict(list)
    for (state, inp), row in TRANSITIONS.items():
        for target in sorted(row.targets, key=list(LinkState).index):
            if target is not state:
                edges[(state, target)].append(inp.value)
    lines = ["stateDiagram-v2", "    [*] --> DISCONNECTED"]
    for (state, target), inputs in edges.items():
        lines.append(f"    {state.name} --> {target.name}: {', '.join(inputs)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(mermaid())
