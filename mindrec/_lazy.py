"""Lazy package exports (PEP 562): names are imported from their module on first use.

Importing ``mindrec`` or ``mindrec.training`` then costs no torch/transformers import, so a command line's
``--help`` answers at once; ``from mindrec.training import Trainer`` still works as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting ``{name: module}`` (a module relative to the package
    when it starts with a dot)."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
