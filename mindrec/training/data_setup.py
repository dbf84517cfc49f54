"""Data and item codes for a run: load the interactions, then build or load the code table.

The dataset's item table defines the item index (docs/ARCHITECTURE.md); a code table loaded from a
file is re-ordered to that index (and restricted to the dataset's items), and every dataset item must
have a code.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from mindrec.data import (
    PreparedData,
    detect_format,
    load_dataset_from_path,
    load_prepared,
    make_synthetic_dataset,
)

from .arguments import CodeArguments, DataArguments

logger = logging.getLogger(__name__)

PREPARED_MARKER = "prepared.json"
CODE_TABLE_FILE = "item_codes.json"


def load_data(args: DataArguments) -> PreparedData:
    """The run's ``PreparedData``: a prepared folder, any supported source, or the synthetic catalogue."""
    if args.data is None:
        logger.info(
            "Generating the synthetic catalogue (%d users, %d items, seed %d)",
            args.synthetic_num_users,
            args.synthetic_num_items,
            args.synthetic_seed,
        )
        return make_synthetic_dataset(
            num_users=args.synthetic_num_users,
            num_items=args.synthetic_num_items,
            seed=args.synthetic_seed,
            max_history=args.max_history,
            max_users=args.max_users,
        )
    path = Path(args.data)
    if (path / PREPARED_MARKER).is_file():
        logger.info("%s is a prepared folder: the truncation it was saved with applies.", path)
        return load_prepared(path)
    source_format = detect_format(path) if args.data_format == "auto" else args.data_format
    options = interaction_options(args, source_format)
    return load_dataset_from_path(
        args.data, format=source_format, max_history=args.max_history, max_users=args.max_users, **options
    )


INTERACTION_DEFAULTS = {"items": None, "user_column": "user_id", "item_column": "item_id",
                        "timestamp_column": "timestamp", "category_separator": ">"}  # fmt: skip


def interaction_options(args: DataArguments, source_format: str) -> dict[str, Any]:
    """The ``interactions`` loader's options of ``args``; set for another format, they are an error."""
    given = {name: getattr(args, name) for name in INTERACTION_DEFAULTS}
    if source_format != "interactions":
        changed = [name for name, value in given.items() if value != INTERACTION_DEFAULTS[name]]
        if changed:
            raise ValueError(
                f"{changed} apply to data_format 'interactions' (your own table), not {source_format!r}."
            )
        return {}
    given["timestamp_column"] = given["timestamp_column"] or None  # '' = keep the row order
    return given


def align_code_table(
    table: dict[str, Any], item_ids: list[str], source: str = "code table"
) -> dict[str, Any]:
    """Re-order an ``item_codes.json`` mapping to the dataset's item index.

    Args:
        table: a code table mapping (``item_ids``, ``codes`` and the layout keys).
        item_ids: the dataset's item ids; row ``i`` of the result is ``item_ids[i]``.
        source: how to name the table in errors (its file).

    Returns:
        A new mapping whose ``item_ids`` equal ``item_ids``; items of the table the dataset lacks are dropped.

    Raises:
        ValueError: some dataset items have no code (the count and the first few ids are named).
    """
    row_of = {item_id: row for row, item_id in enumerate(table["item_ids"])}
    missing = [item_id for item_id in item_ids if item_id not in row_of]
    if missing:
        raise ValueError(
            f"{source}: {len(missing)} of the dataset's {len(item_ids)} items have no code, e.g. {missing[:5]}; "
            "build the code table from this dataset's item table."
        )
    dropped = len(table["item_ids"]) - len(item_ids)
    if dropped:
        logger.info("%s: %d items not in the dataset are left out of the catalogue", source, dropped)
    aligned = dict(table)
    aligned["item_ids"] = list(item_ids)
    aligned["codes"] = [list(table["codes"][row_of[item_id]]) for item_id in item_ids]
    return aligned


def load_or_build_code_table(
    data: PreparedData, args: CodeArguments, show_progress: bool = True, item_vectors: np.ndarray | None = None
) -> dict[str, Any]:
    """The code table of ``data``'s items as an ``item_codes.json`` mapping, in ``data``'s item order.

    With ``args.code_table`` it is read from that file (or folder) and aligned with
    :func:`align_code_table`; otherwise it is built from the item table (``build_item_codes``), quantising
    ``item_vectors`` when given (:func:`item_content_vectors` of ``data`` and ``args``, made by the caller
    when it needs them too) instead of computing them again. When no item has categories, the codes are semantic IDs
    alone whatever ``args.num_category_levels`` says (logged), so that a config written for categories runs anyway.
    """
    from mindrec.tokenization.code_table import ItemCodeTable

    if args.code_table is not None:
        path = Path(args.code_table)
        if path.is_dir():
            path = path / CODE_TABLE_FILE
        table = ItemCodeTable.load(path).to_json()
        return align_code_table(table, data.item_ids, source=os.fspath(path))

    from mindrec.tokenization.build_codes import build_item_codes, has_categories

    items = list(data.items)
    num_category_levels = args.num_category_levels
    if num_category_levels and not has_categories(items):
        # A catalogue without categories (MovieLens, say) has no tree to write: its codes are the semantic ID alone,
        # so that a shipped config, written for catalogues with categories, still runs on it.
        logger.warning(
            "num_category_levels=%d, but no item has categories: the item codes are semantic IDs alone.",
            num_category_levels,
        )
        num_category_levels = 0
    if item_vectors is None and args.collaborative_weight > 0:
        item_vectors = item_content_vectors(data, args, show_progress)
    # Without co-occurrence the builder embeds the text itself (and records how, in the table's stats).
    embedding: Any = args.code_embedding if item_vectors is None else item_vectors
    logger.info(
        "Building item codes: %d items, %d category levels + %d SID digits (codebook %d, %s, %s)",
        len(items),
        num_category_levels,
        args.num_sid_digits,
        args.codebook_size,
        args.code_embedding + (f" + {args.collaborative_weight:g} co-occurrence" if args.collaborative_weight else ""),
        args.quantizer,
    )
    table = build_item_codes(
        items,
        num_category_levels=num_category_levels,
        num_sid_digits=args.num_sid_digits,
        codebook_size=args.codebook_size,
        embedding=embedding,
        quantizer=args.quantizer,
        collision=args.collision,
        seed=args.code_seed,
        embedding_model=args.code_embedding_model,
        show_progress=show_progress,
    )
    stats = table.stats
    logger.info(
        "Item codes %s: collision rate before resolution %.4f, codebook usage %s",
        table.code_slot_sizes,
        stats.get("collision_rate_before", float("nan")),
        stats.get("codebook_usage"),
    )
    return table.to_json()


def item_content_vectors(data: PreparedData, args: CodeArguments, show_progress: bool = True) -> np.ndarray:
    """``[num_items, dim]`` float32: the vectors ``args`` quantises into semantic IDs, whether or not the codes
    are built here: the content embedding, next to co-occurrence vectors of the training split weighted by
    ``args.collaborative_weight`` when it is above 0 (see :mod:`mindrec.tokenization.collaborative`); those
    co-occurrence vectors alone (unit rows, logged) when no item has any text to embed."""
    from mindrec.data.splits import SplitColumns
    from mindrec.tokenization.collaborative import (
        combine_item_vectors,
        cooccurrence_vectors_of_rows,
        unit_rows,
    )
    from mindrec.tokenization.text_embeddings import embed_items, item_text

    items = list(data.items)
    collaborative = None
    if args.collaborative_weight > 0:
        train = SplitColumns.of(data.splits["train"])
        collaborative = cooccurrence_vectors_of_rows(
            train.history_values, train.history_offsets, train.targets, data.num_items, dim=args.collaborative_dim,
            seed=args.code_seed,
        )
        if not any(item_text(item) for item in items):
            # Interactions without an item table (or one of bare ids) have no text to embed; the co-occurrence
            # vectors are then all there is to quantise, and a shipped config still runs on such data.
            logger.warning(
                "No item has a title, brand, categories or description: the item vectors are the training "
                "split's co-occurrence vectors alone."
            )
            return unit_rows(collaborative).astype(np.float32)
    content = embed_items(
        items, args.code_embedding, model=args.code_embedding_model, seed=args.code_seed, show_progress=show_progress
    ).vectors
    if collaborative is not None:
        content = combine_item_vectors(content, collaborative, args.collaborative_weight)
    return np.asarray(content, dtype=np.float32)


__all__ = [
    "align_code_table",
    "item_content_vectors",
    "load_data",
    "load_or_build_code_table",
]
