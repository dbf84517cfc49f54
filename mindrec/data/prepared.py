"""``PreparedData``: the item table plus leave-one-out splits, saved to and loaded from one folder."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
from datasets import Dataset, DatasetDict, load_from_disk

from ..io_utils import atomic_directory
from .catalogue import ITEM_FEATURES
from .splits import SPLIT_FEATURES, SPLIT_NAMES

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
_META_FILE = "prepared.json"
_SID_FILE = "sid_codes.npy"
PREPARED_KIND = "prepared-data"  # the kind recorded in the folder's manifest


@dataclass
class PreparedData:
    """A dataset ready for training and evaluation.

    Attributes:
        splits: ``DatasetDict`` with ``train`` / ``validation`` / ``test``; rows hold ``user_id: str``,
            ``history: list[int]`` (item indices, chronological, truncated) and ``target: int``.
        items: the item table; row ``i`` is item index ``i``. Columns ``item_id``, ``title``,
            ``brand``, ``categories`` (list of names, root first) and ``description``.
        name: a short dataset name (used in logs and run names).
        sid_codes: optional ``int64 [num_items, n_digits]`` semantic-ID digits from an index file
            (LC-Rec/LETTER ``.index.json``), aligned with ``items``; ``None`` if the source had none.
    """

    splits: DatasetDict
    items: Dataset
    name: str
    sid_codes: np.ndarray | None = None

    def __post_init__(self) -> None:
        if set(self.splits) != set(SPLIT_NAMES):
            raise ValueError(f"splits must be exactly {list(SPLIT_NAMES)}, got {sorted(self.splits)}")
        for split in SPLIT_NAMES:
            if self.splits[split].features != SPLIT_FEATURES:
                raise ValueError(
                    f"split {split!r} has features {self.splits[split].features}, expected {SPLIT_FEATURES}"
                )
        if self.items.features != ITEM_FEATURES:
            raise ValueError(f"items has features {self.items.features}, expected {ITEM_FEATURES}")
        for split in SPLIT_NAMES:
            self._check_indices(split)
        if self.sid_codes is not None:
            codes = np.asarray(self.sid_codes)
            if (
                codes.ndim != 2
                or codes.shape[0] != self.num_items
                or not np.issubdtype(codes.dtype, np.integer)
            ):
                raise ValueError(
                    f"sid_codes must be an integer array [num_items={self.num_items}, n_digits], "
                    f"got {codes.dtype} {codes.shape}"
                )
            self.sid_codes = codes.astype(np.int64, copy=False)

    def _check_indices(self, split: str) -> None:
        table = self.splits[split].with_format("arrow")[:]
        values = pc.list_flatten(table.column("history"))
        for column_name, column in (("target", table.column("target")), ("history", values)):
            if len(column) == 0:
                continue
            low, high = pc.min(column).as_py(), pc.max(column).as_py()
            if low < 0 or high >= self.num_items:
                raise ValueError(
                    f"split {split!r} column {column_name!r} holds item index {low if low < 0 else high}, "
                    f"outside 0 .. {self.num_items - 1}"
                )

    @property
    def num_items(self) -> int:
        return len(self.items)

    @property
    def num_users(self) -> int:
        """Users with a test row (every kept user has exactly one)."""
        return len(self.splits["test"])

    @property
    def item_ids(self) -> list[str]:
        return self.items["item_id"]

    def statistics(self) -> dict[str, int]:
        """Counts: users, items, interactions, train_rows, validation_rows, test_rows.

        A user with ``L`` interactions gives ``L - 3`` train rows plus one validation and one test row,
        so ``interactions = train_rows + 3 * users``.
        """
        train, validation, test = (len(self.splits[name]) for name in SPLIT_NAMES)
        return {
            "users": test,
            "items": self.num_items,
            "interactions": train + 3 * test,
            "train_rows": train,
            "validation_rows": validation,
            "test_rows": test,
        }

    @classmethod
    def from_interactions(
        cls,
        interactions: Any,
        items: Any = None,
        *,
        user_column: str = "user_id",
        item_column: str = "item_id",
        timestamp_column: str | None = "timestamp",
        category_separator: str = ">",
        split: str = "train",
        name: str | None = None,
        max_history: int | None = None,
        max_users: int | None = None,
        keep_unused_items: bool = True,
    ) -> PreparedData:
        """Your own data: a table of (user, item, timestamp) rows, plus an optional item table.

        ``interactions`` and ``items`` may be a ``datasets.Dataset``, a pandas DataFrame, a ``.csv`` /
        ``.tsv`` / ``.parquet`` / ``.jsonl`` path, a local dataset folder or a Hub dataset name (through
        ``datasets.load_dataset``; ``split`` picks the split). Column names are options; the item table
        may hold ``title``, ``brand``, ``description``, ``categories`` (a list of names, root first,
        or a string of levels joined by ``category_separator``) and genre labels (``genres``), which join
        the description text. Each user's rows are sorted by
        ``timestamp_column`` (``None``: row order). See :mod:`mindrec.data.loaders.interactions` for the
        rules and errors; the splits are leave-one-out as for every other source.
        """
        from .loaders.interactions import load_interactions

        data = load_interactions(
            interactions,
            items,
            user_column=user_column,
            item_column=item_column,
            timestamp_column=timestamp_column,
            category_separator=category_separator,
            split=split,
            name=name,
        )
        return data.to_prepared(max_history=max_history, max_users=max_users, keep_unused_items=keep_unused_items)

    def save_to_disk(self, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Write the folder ``path`` atomically: ``prepared.json``, ``items/``, ``splits/`` [, ``sid_codes.npy``].

        An existing ``path`` is replaced only with ``overwrite=True`` and only when it is a previous prepared
        folder holding nothing else (see :func:`mindrec.io_utils.atomic_directory`); otherwise FileExistsError.
        """
        meta: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "statistics": self.statistics(),
            "has_sid_codes": self.sid_codes is not None,
        }
        with atomic_directory(path, PREPARED_KIND, overwrite=overwrite) as tmp:
            self.items.save_to_disk(str(tmp / "items"))
            self.splits.save_to_disk(str(tmp / "splits"))
            if self.sid_codes is not None:
                np.save(tmp / _SID_FILE, self.sid_codes)
            (tmp / _META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        logger.info("Saved prepared dataset %r to %s", self.name, path)


def load_prepared(path: str | os.PathLike) -> PreparedData:
    """Load a folder written by :meth:`PreparedData.save_to_disk`."""
    path = Path(path)
    meta_path = path / _META_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(f"{path} is not a prepared dataset folder: {_META_FILE} not found")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{meta_path}: format_version {meta.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
        )
    sid_codes = None
    if meta.get("has_sid_codes"):
        sid_path = path / _SID_FILE
        if not sid_path.is_file():
            raise FileNotFoundError(f"{meta_path} declares SID codes but {sid_path} is missing")
        sid_codes = np.load(sid_path)
    return PreparedData(
        splits=load_from_disk(str(path / "splits")),
        items=load_from_disk(str(path / "items")),
        name=meta["name"],
        sid_codes=sid_codes,
    )
