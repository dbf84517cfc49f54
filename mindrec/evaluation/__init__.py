"""Evaluation: exact-item ranking metrics, top-K helpers and the ``evaluate`` metric module.

``RECOMMENDATION_METRICS_PATH`` is the folder to pass to ``evaluate.load`` for the same metrics as
an ``evaluate`` module.
"""

from pathlib import Path

from .metrics import (
    DEFAULT_KS,
    format_metrics_table,
    hit_rate_at_k,
    mean_reciprocal_rank,
    ndcg_at_k,
    ranking_metrics,
    target_ranks,
    validity,
)
from .ranking import history_mask, top_k_items
from .target_popularity import cold_target_metrics, metrics_by_target_popularity, popularity_bucket_labels

RECOMMENDATION_METRICS_PATH = Path(__file__).parent / "recommendation_metrics"

__all__ = [
    "DEFAULT_KS",
    "RECOMMENDATION_METRICS_PATH",
    "cold_target_metrics",
    "format_metrics_table",
    "history_mask",
    "hit_rate_at_k",
    "mean_reciprocal_rank",
    "metrics_by_target_popularity",
    "ndcg_at_k",
    "popularity_bucket_labels",
    "ranking_metrics",
    "target_ranks",
    "top_k_items",
    "validity",
]
