"""Old import paths that keep working for one release, with a DeprecationWarning.

A module that moved leaves a stub at its old path whose ``__getattr__`` comes from
:func:`moved`: every name read from the old module warns once per access, names the new module
and hands back the object from there (the same object, so ``isinstance`` keeps working).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["moved"]


def moved(old: str, new: str, names: Iterable[str], *, until: str = "0.2") -> Callable[[str], Any]:
    """Build the module ``__getattr__`` of a moved module.

    Args:
        old: the old module's dotted name (the stub's ``__name__``).
        new: the dotted name of the module the names live in now.
        names: the public names the old module had.
        until: the release that removes the old path (named in the warning).

    Returns:
        A function for the stub's module-level ``__getattr__``.
    """
    public = frozenset(names)

    def __getattr__(name: str) -> Any:
        if name not in public:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old}.{name} moved to {new}.{name}; import it from {new} "
            f"(the old path goes away in {until})",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new), name)

    return __getattr__
