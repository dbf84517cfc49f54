"""Ranking metrics by how popular each user's target item was in training.

A recommender's overall NDCG@10 mixes users whose target is a best-seller with users whose target the model
saw a handful of times. The mix differs between splits: under leave-one-out the test target is each user's
newest item, so it is colder than the validation target (full Amazon Beauty: 22.9% of test targets against
18.2% of validation targets have fewer than 5 training interactions). A change that helps warm targets and
costs cold ones can therefore win on validation and lose on test; reading the cold targets separately on
validation shows it before the test split is touched.

An item's *training count* is :func:`mindrec.baselines.popularity.interaction_counts` of the train split
(every interaction before the user's validation item), the same count the popularity baseline ranks by.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from .metrics import _check_inputs, _to_numpy, ranking_metrics

#: Targets with fewer training interactions than this are *cold* (:func:`cold_target_metrics`).
COLD_TARGET_THRESHOLD = 10
#: Bucket edges of :func:`metrics_by_target_popularity`: ``<5``, ``5-9``, ``10-19``, ``20-49``, ``50-99``, ``>=100``.
POPULARITY_BUCKET_EDGES: tuple[int, ...] = (5, 10, 20, 50, 100)


def _target_counts(targets: np.ndarray, item_counts: Any) -> np.ndarray:
    """``[num_users]`` training count of each user's target; errors name a bad count vector."""
    counts = _to_numpy(item_counts, "item_counts")
    if counts.ndim != 1:
        raise ValueError(f"item_counts must be 1-D [num_items], got shape {tuple(counts.shape)}")
    if (counts < 0).any():
        item = int(np.flatnonzero(counts < 0)[0])
        raise ValueError(f"item_counts must be >= 0; item {item} has count {int(counts[item])}")
    if targets.size and int(targets.max()) >= counts.shape[0]:
        raise ValueError(
            f"target item {int(targets.max())} is outside item_counts, which covers {counts.shape[0]} items"
        )
    return counts[targets]


def popularity_bucket_labels(edges: Sequence[int] = POPULARITY_BUCKET_EDGES) -> list[str]:
    """Names of the buckets that ``edges`` cut training counts into, e.g. ``["<5", "5-9", ..., ">=100"]``."""
    edges = list(edges)
    if not edges or edges[0] < 1 or any(low >= high for low, high in pairwise(edges)):
        raise ValueError(f"edges must be a non-empty, strictly increasing sequence of counts >= 1, got {edges}")
    labels = [f"<{edges[0]}"]
    labels += [f"{low}-{high - 1}" for low, high in pairwise(edges)]
    return [*labels, f">={edges[-1]}"]


def metrics_by_target_popularity(
    ranked: Any,
    targets: Any,
    item_counts: Any,
    edges: Sequence[int] = POPULARITY_BUCKET_EDGES,
    ks: Sequence[int] = (1, 10),
) -> dict[str, dict[str, float]]:
    """Ranking metrics of the users in each target-popularity bucket.

    Args:
        ranked: ``[num_users, K]`` recommended item indices, best first (``-1`` for an empty slot).
        targets: ``[num_users]`` target item indices.
        item_counts: ``[num_items]`` training interaction count of every item.
        edges: strictly increasing counts; bucket ``j`` holds targets with ``edges[j-1] <= count < edges[j]``.
        ks: cut-offs of HR@K and NDCG@K.
    Returns:
        ``{label: {"users": n, "share": n / num_users, "hr@K": ..., "ndcg@K": ..., "mrr": ...}}`` in bucket
        order (:func:`popularity_bucket_labels`); a bucket without users has only ``users`` and ``share``.
    """
    labels = popularity_bucket_labels(edges)
    ranked, targets = _check_inputs(ranked, targets)
    bucket = np.searchsorted(np.asarray(edges), _target_counts(targets, item_counts), side="right")  # [num_users]
    result: dict[str, dict[str, float]] = {}
    for index, label in enumerate(labels):
        users = bucket == index
        row: dict[str, float] = {"users": int(users.sum()), "share": float(users.mean())}
        if users.any():
            row.update(ranking_metrics(ranked[users], targets[users], ks=ks))
        result[label] = row
    return result


def cold_target_metrics(
    ranked: Any,
    targets: Any,
    item_counts: Any,
    ks: Sequence[int] = (1, 10),
    threshold: int = COLD_TARGET_THRESHOLD,
) -> dict[str, float]:
    """HR@K and NDCG@K over the users whose target has fewer than ``threshold`` training interactions.

    Returns:
        ``{"cold_share": fraction of cold users, "cold_hr@K": ..., "cold_ndcg@K": ...}``; only ``cold_share``
        (0.0) when no target is cold, since a metric over zero users is undefined.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1, got {threshold}")
    ranked, targets = _check_inputs(ranked, targets)
    cold = _target_counts(targets, item_counts) < threshold  # [num_users]
    result = {"cold_share": float(cold.mean())}
    if cold.any():
        metrics = ranking_metrics(ranked[cold], targets[cold], ks=ks)
        result.update({f"cold_{name}": value for name, value in metrics.items() if name != "mrr"})
    return result


__all__ = [
    "COLD_TARGET_THRESHOLD",
    "POPULARITY_BUCKET_EDGES",
    "cold_target_metrics",
    "metrics_by_target_popularity",
    "popularity_bucket_labels",
]
