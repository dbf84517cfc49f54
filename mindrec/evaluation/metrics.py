"""Exact-item ranking metrics for leave-one-out evaluation (one target item per user).

Every function takes

* ``ranked``: int array ``[num_users, list_length]`` — each user's recommended item indices, best
  first; ``-1`` marks an empty slot (the recommender returned fewer items than asked for);
* ``targets``: int array ``[num_users]`` — each user's held-out item index.

numpy arrays, nested lists and (CPU or GPU) torch tensors are accepted. The **rank** of the target is
its 1-based position in the user's list (first occurrence), or ``0`` when the list does not
contain it. All metrics are means over users, returned as Python floats.

With one target per user HR@K equals Recall@K, and the ideal DCG is 1 (the target at rank 1),
so NDCG@K needs no normalisation beyond the DCG itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

DEFAULT_KS: tuple[int, ...] = (1, 3, 5, 10)


def _to_numpy(values: Any, name: str) -> np.ndarray:
    """Convert a list, numpy array or torch tensor (any device) to a numpy array without copying needlessly."""
    if hasattr(values, "detach"):  # torch tensor: leave the device and the autograd graph
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} must be rectangular (every user the same list length): {error}") from error
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer item indices, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _check_inputs(ranked: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes and values; return ``ranked [n, L]`` and ``targets [n]`` as int64 numpy arrays."""
    ranked = _to_numpy(ranked, "ranked")
    targets = _to_numpy(targets, "targets")
    if ranked.ndim != 2:
        raise ValueError(f"ranked must be 2-D [num_users, list_length], got shape {tuple(ranked.shape)}")
    if targets.ndim != 1:
        raise ValueError(f"targets must be 1-D [num_users], got shape {tuple(targets.shape)}")
    if ranked.shape[0] != targets.shape[0]:
        raise ValueError(
            f"ranked has {ranked.shape[0]} users but targets has {targets.shape[0]}; they must match"
        )
    if ranked.shape[0] == 0:
        raise ValueError("cannot compute metrics over zero users")
    if (targets < 0).any():
        user = int(np.flatnonzero(targets < 0)[0])
        raise ValueError(f"targets must be item indices >= 0; user {user} has target {int(targets[user])}")
    if (ranked < -1).any():
        user, slot = (int(i) for i in np.argwhere(ranked < -1)[0])
        raise ValueError(
            f"ranked holds item indices or -1 for an empty slot; user {user} slot {slot} "
            f"holds {int(ranked[user, slot])}"
        )
    return ranked, targets


def _check_k(k: int, list_length: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > list_length:
        # A cut-off beyond the list would silently report HR@list_length under another name.
        raise ValueError(
            f"k={k} exceeds the ranked list length {list_length}; ask the recommender for >= {k} items"
        )


def target_ranks(ranked: Any, targets: Any) -> np.ndarray:
    """1-based rank of each user's target in their list (first occurrence), 0 when absent.

    Args:
        ranked: ``[num_users, L]`` item indices, ``-1`` for empty slots.
        targets: ``[num_users]`` target item indices.

    Returns:
        int64 array ``[num_users]`` with values in ``0 .. L``.
    """
    return _ranks(*_check_inputs(ranked, targets))


def _ranks(ranked: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """:func:`target_ranks` on already validated arrays."""
    hits = ranked == targets[:, None]  # [n, L]; -1 never matches a target (targets are >= 0)
    found = hits.any(axis=1)
    return np.where(found, hits.argmax(axis=1) + 1, 0).astype(np.int64)


def hit_rate_at_k(ranked: Any, targets: Any, k: int) -> float:
    """HR@K = mean over users of 1[rank <= K] (0 when the target is absent). Equals Recall@K here.

    Args:
        ranked: ``[num_users, L]`` with ``L >= k``.
        targets: ``[num_users]``.
        k: cut-off, ``1 <= k <= L``.
    """
    ranked, targets = _check_inputs(ranked, targets)
    _check_k(k, ranked.shape[1])
    ranks = _ranks(ranked, targets)
    return float(((ranks >= 1) & (ranks <= k)).mean())


def ndcg_at_k(ranked: Any, targets: Any, k: int) -> float:
    """NDCG@K = mean over users of 1 / log2(rank + 1) if 1 <= rank <= K else 0.

    With a single relevant item the ideal DCG is 1/log2(2) = 1, so DCG and NDCG coincide.

    Args:
        ranked: ``[num_users, L]`` with ``L >= k``.
        targets: ``[num_users]``.
        k: cut-off, ``1 <= k <= L``.
    """
    ranked, targets = _check_inputs(ranked, targets)
    _check_k(k, ranked.shape[1])
    ranks = _ranks(ranked, targets)
    hit = (ranks >= 1) & (ranks <= k)
    gains = np.zeros(ranks.shape, dtype=np.float64)
    gains[hit] = 1.0 / np.log2(ranks[hit] + 1.0)
    return float(gains.mean())


def mean_reciprocal_rank(ranked: Any, targets: Any) -> float:
    """MRR = mean over users of 1 / rank, 0 when the target is absent from the list.

    Truncated at the list length L: a target ranked beyond L contributes 0, not 1/rank, so this is
    MRR@L and grows with the number of items requested.

    Args:
        ranked: ``[num_users, L]``.
        targets: ``[num_users]``.
    """
    ranks = _ranks(*_check_inputs(ranked, targets))
    reciprocal = np.zeros(ranks.shape, dtype=np.float64)
    reciprocal[ranks > 0] = 1.0 / ranks[ranks > 0]
    return float(reciprocal.mean())


def ranking_metrics(ranked: Any, targets: Any, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """All metrics at once: ``hr@K`` and ``ndcg@K`` for every K in ``ks``, plus ``mrr``.

    Args:
        ranked: ``[num_users, L]`` item indices, best first, ``-1`` for empty slots; ``L >= max(ks)``.
        targets: ``[num_users]`` target item indices.
        ks: cut-offs (each ``1 <= K <= L``).

    Returns:
        ``{"hr@1": ..., "ndcg@1": ..., ..., "mrr": ...}`` in the order of ``ks``.
    """
    ranked, targets = _check_inputs(ranked, targets)
    if not ks:
        raise ValueError("ks is empty; give at least one cut-off")
    for k in ks:
        _check_k(k, ranked.shape[1])
    ranks = _ranks(ranked, targets)
    metrics: dict[str, float] = {}
    positive = ranks >= 1
    for k in ks:
        hit = positive & (ranks <= k)
        gains = np.zeros(ranks.shape, dtype=np.float64)
        gains[hit] = 1.0 / np.log2(ranks[hit] + 1.0)
        metrics[f"hr@{k}"] = float(hit.mean())
        metrics[f"ndcg@{k}"] = float(gains.mean())
    reciprocal = np.zeros(ranks.shape, dtype=np.float64)
    reciprocal[positive] = 1.0 / ranks[positive]
    metrics["mrr"] = float(reciprocal.mean())
    return metrics


def validity(ranked: Any, num_items: int) -> float:
    """Fraction of list slots that hold a valid catalogue item not already earlier in the same list.

    A slot counts as valid when ``0 <= item < num_items`` and the item did not occur in an earlier
    slot of the same user's list. Empty slots (``-1``) count as invalid: the recommender was asked
    for ``L`` items and returned fewer. A constrained decoder should score exactly 1.0.

    Args:
        ranked: ``[num_users, L]`` item indices.
        num_items: catalogue size; valid indices are ``0 .. num_items-1``.

    Returns:
        valid slots / (num_users * L), in ``[0, 1]``.
    """
    if num_items < 1:
        raise ValueError(f"num_items must be >= 1, got {num_items}")
    ranked = _to_numpy(ranked, "ranked")
    if ranked.ndim != 2 or ranked.size == 0:
        raise ValueError(
            f"ranked must be a non-empty 2-D [num_users, L] array, got shape {tuple(ranked.shape)}"
        )
    in_range = (ranked >= 0) & (ranked < num_items)
    # First occurrence per row: sort each row stably, mark entries equal to their sorted predecessor.
    order = np.argsort(ranked, axis=1, kind="stable")
    sorted_items = np.take_along_axis(ranked, order, axis=1)
    repeated_sorted = np.zeros(ranked.shape, dtype=bool)
    repeated_sorted[:, 1:] = sorted_items[:, 1:] == sorted_items[:, :-1]
    repeated = np.zeros(ranked.shape, dtype=bool)
    np.put_along_axis(repeated, order, repeated_sorted, axis=1)
    return float((in_range & ~repeated).mean())


def format_metrics_table(
    results: Mapping[str, Mapping[str, Any]], digits: int = 4, first_column: str = "model"
) -> str:
    """Format ``{row_name: {metric: value}}`` as a markdown table (one row per model/run).

    Columns are the union of metric names in first-seen order; a metric missing for a row prints
    as an empty cell. Floats print with ``digits`` decimals, other values with ``str``.

    Example::

        | model | hr@1 | ndcg@10 |
        |---|---|---|
        | popularity | 0.0036 | 0.0098 |
    """
    if not results:
        raise ValueError("results is empty; nothing to format")
    columns: list[str] = []
    for row in results.values():
        for name in row:
            if name not in columns:
                columns.append(name)

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return "" if value is None else str(value)

    lines = [f"| {first_column} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row_name, row in results.items():
        lines.append(f"| {row_name} | " + " | ".join(cell(row.get(name)) for name in columns) + " |")
    return "\n".join(lines) + "\n"


__all__ = [
    "DEFAULT_KS",
    "format_metrics_table",
    "hit_rate_at_k",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "ranking_metrics",
    "target_ranks",
    "validity",
]
