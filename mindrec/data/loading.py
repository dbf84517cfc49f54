"""``load_dataset_from_path``: one entry point over every supported source format."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .build import InteractionData
from .loaders import (
    load_amazon_beauty,
    load_amazon_raw,
    load_interactions,
    load_lcrec_json,
    load_movielens,
    load_recbole,
)
from .loaders.interactions import TABLE_SUFFIXES
from .loaders.movielens import RATINGS_FILES
from .prepared import PreparedData

logger = logging.getLogger(__name__)

LOADERS: dict[str, Callable[..., InteractionData]] = {
    "amazon-beauty": load_amazon_beauty,
    "recbole": load_recbole,
    "lcrec-json": load_lcrec_json,
    "amazon-raw": load_amazon_raw,
    "movielens": load_movielens,
    "interactions": load_interactions,
}
FORMATS = ("auto", *LOADERS)

_RECORD_FILE = re.compile(r".+\.jsonl?(\.gz)?$")


def detect_format(path: str | os.PathLike) -> str:
    """Guess the format of a file, folder or ``folder/<name>`` prefix.

    Folder rules, first match wins: ``sequences.txt`` -> amazon-beauty; a ``*.inter.json`` -> lcrec-json; a
    ``*.inter`` -> recbole; ``ratings.dat`` or ``u.data`` -> movielens; any ``*.json[l][.gz]`` -> amazon-raw; a
    ``.csv`` / ``.tsv`` / ``.parquet`` file (or a folder of them, read with ``datasets.load_dataset``) ->
    interactions. A Hub dataset name is not guessed: pass ``format="interactions"``.
    """
    path = Path(path)
    if path.is_file():
        name = path.name
        if name.endswith(".txt"):
            return "amazon-beauty"
        if name.endswith(".inter.json"):
            return "lcrec-json"
        if name.endswith(".inter"):
            return "recbole"
        if name in RATINGS_FILES:
            return "movielens"
        if _RECORD_FILE.fullmatch(name):
            return "amazon-raw"
        if path.suffix.lower() in TABLE_SUFFIXES:
            return "interactions"
        raise ValueError(f"cannot tell the format of {path}; pass format= one of {list(LOADERS)}")
    if path.is_dir():
        names = [p.name for p in path.iterdir() if p.is_file()]
        if "sequences.txt" in names:
            return "amazon-beauty"
        if any(n.endswith(".inter.json") for n in names):
            return "lcrec-json"
        if any(n.endswith(".inter") for n in names):
            return "recbole"
        if any(name in names for name in RATINGS_FILES):
            return "movielens"
        if any(_RECORD_FILE.fullmatch(n) for n in names):
            return "amazon-raw"
        if any(p.suffix.lower() in TABLE_SUFFIXES for p in path.rglob("*") if p.is_file()):
            return "interactions"
        raise ValueError(f"cannot tell the format of the folder {path}; pass format= one of {list(LOADERS)}")
    if (path.parent / f"{path.name}.inter.json").is_file():
        return "lcrec-json"
    if (path.parent / f"{path.name}.inter").is_file():
        return "recbole"
    raise FileNotFoundError(
        f"no dataset at {path}; for a Hub dataset name pass format='interactions' (--data_format interactions)"
    )


def load_dataset_from_path(
    path_or_name: str | os.PathLike,
    format: str = "auto",
    max_history: int | None = None,
    max_users: int | None = None,
    keep_unused_items: bool = True,
    **loader_options: Any,
) -> PreparedData:
    """Load any supported source and return leave-one-out ``PreparedData``.

    Args:
        path_or_name: a dataset folder, one of its files, or a ``folder/<name>`` prefix
            (RecBole and LC-Rec layouts).
        format: ``"auto"`` (see :func:`detect_format`), ``"amazon-beauty"``, ``"recbole"``, ``"lcrec-json"``,
            ``"amazon-raw"``, ``"movielens"`` (ml-1m's ``.dat`` or ml-100k's ``u.*`` files) or ``"interactions"``
            (your own table: see :func:`~mindrec.data.loaders.interactions.load_interactions`).
        max_history: keep only the last N history items per row (``None`` = all).
        max_users: keep the first N users with at least 3 interactions, in source order.
        keep_unused_items: keep items no kept user interacted with (default; ranking is over the
            full catalogue).
        loader_options: format-specific options, e.g. ``kcore=`` and ``meta_path=`` (amazon-raw),
            ``index_path=`` (lcrec-json), or ``items=``, ``user_column=``, ``timestamp_column=`` (interactions).
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {list(FORMATS)}")
    if format == "auto":
        format = detect_format(path_or_name)
        logger.info("Detected format %r for %s", format, path_or_name)
    data = LOADERS[format](path_or_name, **loader_options)
    return data.to_prepared(max_history=max_history, max_users=max_users, keep_unused_items=keep_unused_items)
