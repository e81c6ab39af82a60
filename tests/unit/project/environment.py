"""Which environment variables a settings module reads, found in its syntax tree.

Reading the tree, not a list kept by hand, means a setting any change adds is found too:
``os.environ.get("X")``, ``os.environ["X"]``, ``os.getenv("X")``, any ``env_*("X", ...)`` helper
and ``env="X"`` keywords (dj-database-url).
"""

from __future__ import annotations

import ast
import re

NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


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
