"""Build an item code table from an item table: category tree + text embedding + quantiser + collisions.

    from mindrec.tokenization.build_codes import build_item_codes
    table = build_item_codes(items, num_category_levels=3, num_sid_digits=4, codebook_size=256)
    table.save("item_codes.json")

``items`` is any sequence of dicts (a ``datasets.Dataset`` works) with ``item_id`` and optionally
``title``, ``brand``, ``categories`` (list of names, root first) and ``description``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .category_tree import CategoryTree
from .code_table import ItemCodeTable, code_statistics, collision_rate
from .quantizers import COLLISION_STRATEGIES, QUANTIZERS, make_quantizer, resolve_collisions
from .text_embeddings import embed_items

__all__ = ["build_item_codes", "has_categories", "load_items_file"]

logger = logging.getLogger(__name__)


def build_item_codes(
    items: Sequence[Mapping[str, Any]],
    num_category_levels: int = 3,
    num_sid_digits: int = 4,
    codebook_size: int = 256,
    embedding: str | os.PathLike | np.ndarray = "tfidf-svd",
    quantizer: str = "rq-kmeans",
    collision: str = "reassign",
    seed: int = 0,
    *,
    drop_root: bool = True,
    embedding_model: str | None = None,
    embedding_dim: int = 256,
    quantizer_kwargs: Mapping[str, Any] | None = None,
    show_progress: bool = True,
) -> ItemCodeTable:
    """Build one-to-one item codes: ``num_category_levels`` category slots then ``num_sid_digits`` SID digits.

    Args:
        items: the item table; row order defines the item index.
        num_category_levels: ``D`` (0 = no category slots).
        num_sid_digits: ``n``.
        codebook_size: ``V`` per SID digit (clamped, with a warning, to the number of distinct embeddings).
        embedding: ``"tfidf-svd"``, ``"sentence-transformers"`` (with ``embedding_model``), a ``.npy`` path or an
            array ``[num_items, dim]`` (see :func:`~.text_embeddings.embed_items`).
        quantizer: one of ``"rq-kmeans"``, ``"rq-vae"``, ``"opq"``, ``"pq"``.
        collision: ``"reassign"`` or ``"extra_digit"`` (see :mod:`.quantizers.collisions`).
        seed: seeds the SVD and the quantiser; the same inputs and seed give the same table.
        drop_root: drop the shared root category (see :meth:`CategoryTree.from_paths`).
        quantizer_kwargs: extra arguments of the quantiser class (e.g. ``{"steps": 500}`` for RQ-VAE).

    Returns:
        The :class:`ItemCodeTable`; its ``stats`` hold the category node counts (before / after OTHER
        padding), the collision rate before resolution (``collision_rate_before`` on the full code,
        ``sid_collision_rate_before`` on the SID digits alone), ``items_moved`` (and ``freed_digits`` for
        ``"reassign"``), codebook usage and entropy per SID digit of the final codes, ``distinct_codes``
        (= number of items) and the seconds each step took.

    Raises:
        ValueError: bad items (missing or duplicate ``item_id``), bad options, or no categories while
            ``num_category_levels > 0``.
    """
    start = time.perf_counter()
    if quantizer not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {quantizer!r}: expected one of {sorted(QUANTIZERS)}")
    if collision not in COLLISION_STRATEGIES:
        raise ValueError(f"unknown collision strategy {collision!r}: expected one of {COLLISION_STRATEGIES}")
    items = list(items)
    item_ids = _item_ids(items)
    seconds: dict[str, float] = {}
    # Built first so that bad quantiser options fail before the (slow) embedding step.
    model = make_quantizer(
        quantizer,
        num_sid_digits,
        codebook_size,
        seed,
        show_progress=show_progress,
        **dict(quantizer_kwargs or {}),
    )

    # 1. Category slots.
    tree, categories = _category_codes(items, num_category_levels, drop_root)
    seconds["category_tree"] = time.perf_counter() - start

    # 2. Content embedding.
    step = time.perf_counter()
    embedded = embed_items(
        items, embedding, model=embedding_model, dim=embedding_dim, seed=seed, show_progress=show_progress
    )
    seconds["embedding"] = time.perf_counter() - step
    logger.info(
        "embedded %d items with %s in %.1fs", len(items), embedded.method["name"], seconds["embedding"]
    )

    # 3. Semantic IDs.
    step = time.perf_counter()
    vectors = embedded.vectors
    sid = model.fit(vectors).encode(vectors)
    errors = model.reconstruction_error(vectors, sid)
    seconds["quantizer"] = time.perf_counter() - step
    logger.info("quantised with %s in %.1fs", quantizer, seconds["quantizer"])

    # 4. One-to-one codes.
    step = time.perf_counter()
    before = np.concatenate([categories, sid], 1)
    resolved, report = resolve_collisions(
        categories,
        sid,
        model.codebook_size,
        collision,
        reconstruction_error=errors,
        digit_distances=lambda rows: model.digit_distances(vectors[rows], sid[rows]),
        show_progress=show_progress,
    )
    codes = np.concatenate([categories, resolved], 1)
    seconds["collisions"] = time.perf_counter() - step

    slot_sizes = (tree.level_sizes if tree is not None else []) + [model.codebook_size] * num_sid_digits
    if collision == "extra_digit":
        slot_sizes.append(report.pop("extra_digit_size"))
    seconds["total"] = time.perf_counter() - start
    final = code_statistics(codes, slot_sizes, num_category_levels)
    stats = {
        "num_items": len(items),
        "category_nodes_per_level": tree.node_counts() if tree is not None else [],
        "category_nodes_per_level_padded": tree.node_counts(include_other=True) if tree is not None else [],
        "collision_rate_before": round(collision_rate(before), 6),
        "sid_collision_rate_before": round(collision_rate(sid), 6),
        "items_moved": report["num_moved"],
        **({"freed_digits": report["freed_digits"]} if "freed_digits" in report else {}),
        "codebook_usage": final["codebook_usage"],
        "entropy_bits": final["entropy_bits"],
        "distinct_codes": final["distinct_codes"],
        "seconds": {key: round(value, 3) for key, value in seconds.items()},
    }
    method = {
        "category": {"num_levels": num_category_levels, "drop_root": drop_root},
        "embedding": embedded.method,
        "quantizer": model.config(),
        "collision": collision,
        "seed": seed,
    }
    table = ItemCodeTable(item_ids, codes, slot_sizes, num_category_levels, tree, method, stats)
    logger.info(
        "built %d codes %s: collisions before %.4f, distinct after %d",
        len(items),
        slot_sizes,
        stats["collision_rate_before"],
        stats["distinct_codes"],
    )
    return table


def _item_ids(items: list[Mapping[str, Any]]) -> list[str]:
    if not items:
        raise ValueError("the item table is empty")
    ids, seen = [], {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or item.get("item_id") is None:
            raise ValueError(f"item row {index} has no item_id: {item!r:.200}")
        item_id = str(item["item_id"])
        if item_id in seen:
            raise ValueError(f"item_id {item_id!r} occurs twice (rows {seen[item_id]} and {index})")
        seen[item_id] = index
        ids.append(item_id)
    return ids


def has_categories(items: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any item of the table has a (non-empty) ``categories`` path: what category slots are built from."""
    return any(item.get("categories") for item in items)


def _category_codes(
    items: list[Mapping[str, Any]], num_levels: int, drop_root: bool
) -> tuple[CategoryTree | None, np.ndarray]:
    """The tree (``None`` when ``num_levels == 0``) and the category slots ``[N, num_levels]``."""
    if num_levels == 0:
        return None, np.zeros((len(items), 0), dtype=np.int64)
    if not has_categories(items):
        raise ValueError(
            f"num_category_levels={num_levels} but no item has 'categories'; pass num_category_levels=0"
        )
    paths = [item.get("categories") for item in items]
    tree = CategoryTree.from_paths(paths, num_levels, drop_root)
    codes = [tree.encode(path, f"item {item['item_id']!r}") for item, path in zip(items, paths, strict=True)]
    return tree, np.asarray(codes, dtype=np.int64)


def load_items_file(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read an item table from ``items.jsonl`` (one JSON object per line), a ``.json`` list of objects, a
    folder holding ``items.jsonl``, or a prepared-data folder (``prepared.json``, see ``mindrec.data``).

    Raises:
        FileNotFoundError: the path (or the folder's ``items.jsonl``) does not exist.
        ValueError: a line or the file is not valid JSON, or a row is not an object (names file and line).
    """
    path = Path(path)
    if path.is_dir() and (path / "prepared.json").is_file():
        from mindrec.data import load_prepared

        return list(load_prepared(path).items)
    if path.is_dir():
        path = path / "items.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"item file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected a JSON list of item objects, got {type(rows).__name__}")
        numbered = list(enumerate(rows))
        where = "entry"
    else:
        numbered = []
        for line_number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    numbered.append((line_number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{line_number}: not valid JSON ({exc})") from exc
        where = "line"
    for position, row in numbered:
        if not isinstance(row, dict):
            raise ValueError(f"{path}: {where} {position} is {type(row).__name__}, expected an item object")
    return [row for _, row in numbered]
