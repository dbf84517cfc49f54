"""Resolve ``<folder>/<name><suffix>`` dataset files from a folder, one of its files, or a prefix; read a dataset's
optional item file."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from ..catalogue import ItemCatalogue

logger = logging.getLogger(__name__)


def optional_item_file(path: Path, read: Callable[[Path], ItemCatalogue]) -> ItemCatalogue:
    """``read(path)`` when the item file exists; otherwise, with a warning, an empty catalogue that interactions fill
    with bare ids in order of first appearance (see :meth:`ItemCatalogue.index_of`)."""
    if path.is_file():
        return read(path)
    logger.warning("%s not found: the item table will hold ids only, without text", path)
    return ItemCatalogue()


def resolve_named_file(path: str | os.PathLike, suffix: str) -> tuple[Path, str]:
    """Find the main file of a ``<name><suffix>`` dataset (RecBole ``.inter``, LC-Rec ``.inter.json``).

    ``path`` may be the file itself, a folder holding exactly one ``<name><suffix>`` (``<name>``
    without dots, so ``Beauty.train.inter`` is not taken for ``Beauty.inter``; a file named after the
    folder wins if there are several), or a prefix ``folder/<name>``. Returns ``(file, name)``.
    """
    path = Path(path)
    if path.is_file():
        if not path.name.endswith(suffix):
            raise ValueError(f"{path}: expected a file named <name>{suffix}")
        return path, path.name[: -len(suffix)]
    if path.is_dir():
        own = path / f"{path.name}{suffix}"
        if own.is_file():
            return own, path.name
        candidates = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.name.endswith(suffix) and "." not in p.name[: -len(suffix)]
        )
        if len(candidates) != 1:
            found = ", ".join(p.name for p in candidates) or "none"
            raise FileNotFoundError(f"{path}: expected exactly one <name>{suffix} file, found {found}")
        return candidates[0], candidates[0].name[: -len(suffix)]
    prefixed = path.parent / f"{path.name}{suffix}"
    if prefixed.is_file():
        return prefixed, path.name
    raise FileNotFoundError(
        f"no {suffix} dataset at {path} (neither a file, a folder nor a prefix of {prefixed.name})"
    )
