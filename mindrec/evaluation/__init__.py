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

RECOMMENDATION_METRICS_PATH = Path(__file__).parent / "recommendation_metrics"

__all__ = [
    "DEFAULT_KS",
    "RECOMMENDATION_METRICS_PATH",
    "format_metrics_table",
    "history_mask",
    "hit_rate_at_k",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "ranking_metrics",
    "target_ranks",
    "top_k_items",
    "validity",
]
