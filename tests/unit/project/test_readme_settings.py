"""The README's settings table lists exactly the environment variables the settings read.

The variables are found by reading project/settings.py's syntax tree, not from a list kept here,
so a setting another change adds is checked too: ``os.environ.get("X")``, ``os.environ["X"]``,
``os.getenv("X")``, any ``env_*("X", ...)`` helper and ``env="X"`` keywords (dj-database-url).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Read by a dependency, not by our settings, yet the user sets them: the table documents them.
READ_BY_DEPENDENCIES = {
    "FORWARDED_ALLOW_IPS": "uvicorn's proxy headers (the web adapter)",
}


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value):
        return node.value
    return None


def environment_reads(source: str) -> set[str]:
    """Names of the environment variables a module reads, from its syntax tree."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            names.add(_string(node.slice) or "")
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        first = _string(node.args[0]) if node.args else None
        reads_environ = isinstance(function, ast.Attribute) and (
            (_is_environ(function.value) and function.attr in {"get", "setdefault", "pop"})
            or function.attr == "getenv"
        )
        if reads_environ or (isinstance(function, ast.Name) and function.id.startswith("env_")):
            names.add(first or "")
        names.update(
            value
            for keyword in node.keywords
            if keyword.arg == "env" and (value := _string(keyword.value))
        )
    names.discard("")
    return names


def readme_table() -> set[str]:
    """The `VARIABLE` names in the first column of the README's settings table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_the_reader_finds_every_form_of_environment_read() -> None:
    source = (
        'import os\nA = os.environ.get("A")\nB = os.environ["B"]\nC = os.getenv("C", "")\n'
        'D = env_bool("D", False)\nE = env_list("E", [])\nF = config(env="F")\n'
        'os.environ.setdefault("G", "1")\nH = os.environ.get("not a variable")\n'
    )
    assert environment_reads(source) == set("ABCDEFG")


def test_every_variable_the_settings_read_is_in_the_readme_table() -> None:
    read = environment_reads((ROOT / "project" / "settings.py").read_text())
    missing = sorted(read - readme_table())
    assert not missing, f"add these to README.md's settings table: {missing}"


def test_the_readme_table_lists_only_variables_that_are_read() -> None:
    read = environment_reads((ROOT / "project" / "settings.py").read_text())
    unknown = sorted(readme_table() - read - READ_BY_DEPENDENCIES.keys())
    assert not unknown, f"README.md's settings table lists variables nothing reads: {unknown}"
