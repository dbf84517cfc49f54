"""The item <-> code table: the saved artifact that travels with the model and the tokenizer.

A code is ``D`` category slots (coarse to fine) followed by ``n`` SID slots; slot ``s`` takes values
``0 .. code_slot_sizes[s]-1``; codes are one-to-one with items (docs/ARCHITECTURE.md). On disk it is
``item_codes.json``::

    {"format_version": 1, "num_category_levels": D, "num_sid_digits": n, "code_slot_sizes": [...],
     "item_ids": [...], "codes": [[...], ...], "category_tree": {"name", "children"} | null,
     "method": {...}, "stats": {...}}

The tokenizer reads that file with the standard library alone; this module builds, validates and
summarises it.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mindrec.io_utils import atomic_write_text

from .category_tree import CategoryTree

__all__ = ["FORMAT_VERSION", "ItemCodeTable", "code_statistics", "collision_rate"]

FORMAT_VERSION = 1
_KEYS = (
    "format_version",
    "num_category_levels",
    "num_sid_digits",
    "code_slot_sizes",
    "item_ids",
    "codes",
    "category_tree",
    "method",
    "stats",
)


def collision_rate(codes: np.ndarray) -> float:
    """Fraction of items whose code (row of ``codes [N, L]``) is shared with at least one other item."""
    codes = np.asarray(codes)
    if len(codes) == 0:
        return 0.0
    _, inverse, counts = np.unique(
        codes.reshape(len(codes), -1), axis=0, return_inverse=True, return_counts=True
    )
    return float((counts[inverse.reshape(-1)] > 1).mean())


def code_statistics(
    codes: np.ndarray, code_slot_sizes: Sequence[int], num_category_levels: int
) -> dict[str, Any]:
    """Summary of a code table ``codes [N, D + n]``.

    Returns ``num_items``, ``distinct_codes``, ``collision_rate`` and, per SID slot, ``codebook_usage``
    (fraction of the slot's values used) and ``entropy_bits`` (entropy of the slot's value distribution;
    ``log2(slot size)`` is the maximum, reached by a uniform distribution).
    """
    codes = np.asarray(codes, dtype=np.int64)
    usage, entropy = [], []
    for slot in range(num_category_levels, codes.shape[1]):
        counts = np.bincount(codes[:, slot], minlength=code_slot_sizes[slot])
        probabilities = counts[counts > 0] / len(codes)
        usage.append(round(float((counts > 0).sum() / code_slot_sizes[slot]), 6))
        entropy.append(round(float(-(probabilities * np.log2(probabilities)).sum()) + 0.0, 6))
    return {
        "num_items": int(len(codes)),
        "distinct_codes": int(len(np.unique(codes, axis=0))) if len(codes) else 0,
        "collision_rate": round(collision_rate(codes), 6),
        "codebook_usage": usage,
        "entropy_bits": entropy,
    }


class ItemCodeTable:
    """One code per item, one-to-one.

    Args:
        item_ids: external ids (strings), row ``i`` = item index ``i``.
        codes: int64 ``[num_items, D + n]``.
        code_slot_sizes: ``[D + n]`` slot sizes.
        num_category_levels: ``D``.
        category_tree: the tree the category slots index (required when ``D > 0``).
        method: JSON-ready description of how the codes were built.
        stats: JSON-ready statistics (see :func:`code_statistics` and ``build_item_codes``).

    Raises:
        ValueError: inconsistent lengths, values outside their slot, duplicate ids, two items with one code
            or category slots that are not a path of the tree; the message names the offending item.
    """

    def __init__(
        self,
        item_ids: Sequence[str],
        codes: np.ndarray,
        code_slot_sizes: Sequence[int],
        num_category_levels: int,
        category_tree: CategoryTree | None = None,
        method: dict[str, Any] | None = None,
        stats: dict[str, Any] | None = None,
    ):
        self.item_ids = list(item_ids)
        self.codes = _as_code_array(codes, len(self.item_ids))
        self.code_slot_sizes = [int(size) for size in code_slot_sizes]
        self.num_category_levels = int(num_category_levels)
        self.category_tree = category_tree
        self.method = dict(method or {})
        self.stats = dict(stats or {})
        self._validate()
        self._index = {item_id: index for index, item_id in enumerate(self.item_ids)}

    # ------------------------------------------------------------------ accessors

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_sid_digits(self) -> int:
        return len(self.code_slot_sizes) - self.num_category_levels

    @property
    def code_length(self) -> int:
        return len(self.code_slot_sizes)

    def index_of(self, item_id: str) -> int:
        """Item index of ``item_id`` (raises ``KeyError`` naming it when unknown)."""
        try:
            return self._index[item_id]
        except KeyError:
            raise KeyError(f"item_id {item_id!r} is not in the code table") from None

    def category_names(self, index: int) -> list[str]:
        """Category names ``[D]`` of item index ``index`` (``[]`` when ``D == 0``)."""
        if self.category_tree is None:
            return []
        return self.category_tree.decode(self.codes[index, : self.num_category_levels].tolist())

    def __len__(self) -> int:
        return self.num_items

    def __repr__(self) -> str:
        return (
            f"ItemCodeTable(num_items={self.num_items}, num_category_levels={self.num_category_levels}, "
            f"num_sid_digits={self.num_sid_digits}, code_slot_sizes={self.code_slot_sizes})"
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_sid_array(
        cls,
        item_ids: Sequence[str | int],
        sid_codes: np.ndarray | Sequence[Sequence[int]],
        category_tree: CategoryTree | None = None,
        category_paths: Sequence[str | Sequence[str] | None] | None = None,
        codebook_size: int | None = None,
        method: dict[str, Any] | None = None,
    ) -> ItemCodeTable:
        """Wrap a ready-made SID table (e.g. parsed from an LC-Rec ``.index.json``).

        Args:
            item_ids: one id per row (ints are converted with ``str``).
            sid_codes: int ``[num_items, n]`` SID digits.
            category_tree: optional tree; then ``category_paths`` (one raw path per item) give the category slots.
            codebook_size: size of every SID slot; default = largest value + 1.

        Raises:
            ValueError: as for the constructor; two items with one code are named.
        """
        item_ids = [str(item_id) for item_id in item_ids]
        sid = _as_code_array(sid_codes, len(item_ids))
        if codebook_size is None:
            codebook_size = int(sid.max()) + 1 if sid.size else 1
        if category_tree is not None:
            if category_paths is None or len(category_paths) != len(item_ids):
                raise ValueError("category_tree needs category_paths with one path per item")
            categories = np.array(
                [
                    category_tree.encode(path, f"item {item_id!r}")
                    for item_id, path in zip(item_ids, category_paths, strict=True)
                ],
                dtype=np.int64,
            ).reshape(len(item_ids), category_tree.num_levels)
            depth, sizes = category_tree.num_levels, category_tree.level_sizes
        else:
            categories, depth, sizes = np.zeros((len(item_ids), 0), dtype=np.int64), 0, []
        codes = np.concatenate([categories, sid], 1)
        slot_sizes = sizes + [codebook_size] * sid.shape[1]
        method = dict(method or {"quantizer": {"name": "precomputed-sid"}})
        return cls(
            item_ids,
            codes,
            slot_sizes,
            depth,
            category_tree,
            method,
            code_statistics(codes, slot_sizes, depth),
        )

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "num_category_levels": self.num_category_levels,
            "num_sid_digits": self.num_sid_digits,
            "code_slot_sizes": list(self.code_slot_sizes),
            "item_ids": list(self.item_ids),
            "codes": self.codes.tolist(),
            "category_tree": None if self.category_tree is None else self.category_tree.to_json(),
            "method": copy.deepcopy(self.method),
            "stats": copy.deepcopy(self.stats),
        }

    @classmethod
    def from_json(cls, obj: Any) -> ItemCodeTable:
        """Inverse of :meth:`to_json`, validating every field."""
        if not isinstance(obj, dict):
            raise ValueError(f"an item code table must be a JSON object, got {type(obj).__name__}")
        missing = [key for key in _KEYS if key not in obj]
        if missing:
            raise ValueError(f"item code table lacks the keys {missing}")
        if obj["format_version"] != FORMAT_VERSION:
            raise ValueError(
                f"unsupported format_version {obj['format_version']!r}; this code reads {FORMAT_VERSION}"
            )
        for key in ("num_category_levels", "num_sid_digits"):
            if not _is_int(obj[key]) or obj[key] < 0:
                raise ValueError(f"{key} must be a non-negative integer, got {obj[key]!r}")
        sizes = obj["code_slot_sizes"]
        if not isinstance(sizes, list) or not all(_is_int(size) for size in sizes):
            raise ValueError(f"code_slot_sizes must be a list of integers, got {sizes!r}")
        if len(sizes) != obj["num_category_levels"] + obj["num_sid_digits"]:
            raise ValueError(
                f"code_slot_sizes has {len(sizes)} entries but num_category_levels + num_sid_digits = "
                f"{obj['num_category_levels']} + {obj['num_sid_digits']}"
            )
        item_ids, codes = obj["item_ids"], obj["codes"]
        if not isinstance(item_ids, list) or not isinstance(codes, list):
            raise ValueError("item_ids and codes must be lists")
        if len(item_ids) != len(codes):
            raise ValueError(f"item_ids has {len(item_ids)} entries but codes has {len(codes)}")
        for item_id, row in zip(item_ids, codes, strict=True):
            if (
                not isinstance(row, list)
                or len(row) != len(sizes)
                or not all(_is_int(value) for value in row)
            ):
                raise ValueError(f"item {item_id!r}: code {row!r} is not a list of {len(sizes)} integers")
        for key in ("method", "stats"):
            if not isinstance(obj[key], dict):
                raise ValueError(f"{key} must be a JSON object, got {obj[key]!r:.100}")
        tree = None if obj["category_tree"] is None else CategoryTree.from_json(obj["category_tree"])
        return cls(
            item_ids,
            np.array(codes, dtype=np.int64).reshape(len(codes), len(sizes)),
            sizes,
            obj["num_category_levels"],
            tree,
            obj["method"],
            obj["stats"],
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write ``item_codes.json`` atomically: one key per line and one code row per line (``item_ids`` and
        ``codes`` stay aligned line for line), so the file diffs and greps well."""
        obj = self.to_json()
        lines = []
        for key, value in obj.items():
            if key in ("item_ids", "codes") and value:
                rows = ",\n    ".join(json.dumps(row, ensure_ascii=False) for row in value)
                text = f"[\n    {rows}\n  ]"
            else:
                text = json.dumps(value, ensure_ascii=False)
            lines.append(f"  {json.dumps(key)}: {text}")
        atomic_write_text(path, "{\n" + ",\n".join(lines) + "\n}\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> ItemCodeTable:
        """Read and validate a saved table; errors are prefixed with the file name."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"item code table {path} does not exist")
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            raise ValueError(f"{path}: {exc}") from exc

    # ------------------------------------------------------------------ validation

    def _validate(self) -> None:
        depth, sizes = self.num_category_levels, self.code_slot_sizes
        if not 0 <= depth <= len(sizes):
            raise ValueError(f"num_category_levels={depth} is outside 0..{len(sizes)} (code length)")
        if any(size < 1 for size in sizes):
            raise ValueError(f"code_slot_sizes must be positive, got {sizes}")
        if self.codes.shape[1] != len(sizes):
            raise ValueError(f"codes have {self.codes.shape[1]} slots but code_slot_sizes has {len(sizes)}")
        seen: dict[Any, int] = {}
        for index, item_id in enumerate(self.item_ids):
            if not isinstance(item_id, str):
                raise ValueError(f"item_ids[{index}] = {item_id!r} is not a string")
            if item_id in seen:
                raise ValueError(f"item_id {item_id!r} occurs twice (rows {seen[item_id]} and {index})")
            seen[item_id] = index
        bad = np.argwhere((self.codes < 0) | (self.codes >= np.array(sizes, dtype=np.int64)))
        if len(bad):
            row, slot = (int(v) for v in bad[0])
            raise ValueError(
                f"item {self.item_ids[row]!r}: slot {slot} value {int(self.codes[row, slot])} is outside "
                f"0..{sizes[slot] - 1}"
            )
        owner: dict[tuple[int, ...], int] = {}
        for index, code in enumerate(map(tuple, self.codes.tolist())):
            if code in owner:
                raise ValueError(
                    f"items {self.item_ids[owner[code]]!r} and {self.item_ids[index]!r} share the code {list(code)}; "
                    "codes must be one-to-one with items"
                )
            owner[code] = index
        self._validate_tree()

    def _validate_tree(self) -> None:
        depth, tree = self.num_category_levels, self.category_tree
        if tree is None:
            if depth:
                raise ValueError(f"num_category_levels={depth} but no category_tree was given")
            return
        if tree.num_levels != depth:
            raise ValueError(f"category_tree has {tree.num_levels} levels but num_category_levels={depth}")
        if tree.level_sizes != self.code_slot_sizes[:depth]:
            raise ValueError(
                f"category slot sizes {self.code_slot_sizes[:depth]} differ from the tree's level sizes {tree.level_sizes}"
            )
        checked: set[tuple[int, ...]] = set()
        for index, path in enumerate(map(tuple, self.codes[:, :depth].tolist())):
            if path not in checked:
                try:
                    tree.decode(path)
                except ValueError as exc:
                    raise ValueError(
                        f"item {self.item_ids[index]!r}: category slots {list(path)}: {exc}"
                    ) from None
                checked.add(path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_code_array(codes: Any, num_items: int) -> np.ndarray:
    array = np.asarray(codes)
    if array.size == 0 and num_items == 0:
        return array.reshape(0, array.shape[1] if array.ndim == 2 else 0).astype(np.int64)
    if array.ndim != 2 or array.shape[0] != num_items:
        raise ValueError(
            f"codes must be a [num_items={num_items}, code_length] array, got shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"codes must be integers, got dtype {array.dtype}")
    return array.astype(np.int64)
