"""Layering: the core imports no adapter, consumer or project code; the bot imports no adapter;
the examples are built on the core alone (docs/writing-an-adapter.md).

Every module's imports are read with ast (also the ones inside functions, which run later but
tie the packages together all the same).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: package -> the top-level packages it must never import.
FORBIDDEN = {
    "gateway": ("adapters", "consumers", "project"),
    "consumers": ("adapters",),
    "examples": ("adapters", "consumers", "project"),
}


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in a parsed module."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative: strip `level` parts from the package the module lives in.
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def wrong_way_imports(root: Path) -> list[str]:
    """Every import under ``root`` that breaks :data:`FORBIDDEN`, as "file:line imports name"."""
    problems: list[str] = []
    for package, forbidden in FORBIDDEN.items():
        for file in sorted((root / package).rglob("*.py")):
            module = module_name(root, file)
            tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
            for line, name in imported_modules(tree, module, file.name == "__init__.py"):
                if name.split(".")[0] in forbidden:
                    problems.append(f"{file.relative_to(root)}:{line} imports {name}")
    return problems


def test_no_wrong_way_imports_in_the_code_base() -> None:
    problems = wrong_way_imports(ROOT)
    assert not problems, (
        "wrong-way imports (gateway/ and examples/ must not import adapters/, consumers/ or "
        "project/; consumers/ must not import adapters/); move the shared code into gateway/:\n"
        + "\n".join(problems)
    )


def test_every_package_is_scanned() -> None:
    # A renamed package would make the check above pass vacuously.
    for package in FORBIDDEN:
        assert len(list((ROOT / package).rglob("*.py"))) >= 3, package


@pytest.mark.parametrize(
    ("file", "source", "bad"),
    [
        ("gateway/a.py", "import adapters.mqtt\n", "adapters.mqtt"),
        ("gateway/a.py", "from project.settings import X\n", "project.settings"),
        ("gateway/a.py", "def f():\n    from consumers import views\n", "consumers"),
        ("gateway/sub/__init__.py", "from ...adapters import web\n", "adapters"),
        ("consumers/a.py", "from adapters.web.status import RateTracker\n", "adapters.web.status"),
    ],
)
def test_a_wrong_way_import_is_reported(tmp_path: Path, file: str, source: str, bad: str) -> None:
    for package in FORBIDDEN:
        (tmp_path / package).mkdir()
    target = tmp_path / file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    (tmp_path / "gateway" / "ok.py").write_text("from gateway.exceptions import GatewayError\n")
    (tmp_path / "consumers" / "ok.py").write_text("from gateway.mqtt import consumer\n")
    assert wrong_way_imports(tmp_path) == [f"{file}:{source.count(chr(10))} imports {bad}"]
