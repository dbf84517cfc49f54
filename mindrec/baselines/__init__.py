"""Baselines every comparison must include: most-popular and a strong (cross-entropy) SASRec."""

from transformers import AutoConfig, AutoModel

from .popularity import (
    PopularityRecommender,
    decoding_counts,
    interaction_counts,
    latest_interaction_counts,
    transition_counts,
)
from .sasrec import SASRecConfig, SASRecModel, SASRecOutput, collate_histories
from .sasrec_training import SASRecTrainingArguments, evaluate_sasrec, train_sasrec
from .tiger import autoregressive_config, build_autoregressive_model, causal_config

AutoConfig.register(SASRecConfig.model_type, SASRecConfig, exist_ok=True)
AutoModel.register(SASRecConfig, SASRecModel, exist_ok=True)

__all__ = [
    "autoregressive_config",
    "build_autoregressive_model",
    "causal_config",
    "PopularityRecommender",
    "SASRecConfig",
    "SASRecModel",
    "SASRecOutput",
    "SASRecTrainingArguments",
    "collate_histories",
    "decoding_counts",
    "evaluate_sasrec",
    "interaction_counts",
    "latest_interaction_counts",
    "train_sasrec",
    "transition_counts",
]
