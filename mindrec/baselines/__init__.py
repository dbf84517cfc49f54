"""Baselines every comparison must include: most-popular and a strong (cross-entropy) SASRec."""

from .popularity import PopularityRecommender, interaction_counts
from .sasrec import SASRecConfig, SASRecModel, SASRecOutput, collate_histories
from .sasrec_training import SASRecTrainingArguments, evaluate_sasrec, train_sasrec

__all__ = [
    "PopularityRecommender",
    "SASRecConfig",
    "SASRecModel",
    "SASRecOutput",
    "SASRecTrainingArguments",
    "collate_histories",
    "evaluate_sasrec",
    "interaction_counts",
    "train_sasrec",
]
