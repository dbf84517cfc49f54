"""SASRec's inference-time options chosen on validation after training, as MindRec's ``decoding_grid`` chooses the fused
decoder's: the baseline gets the same search over the credits both models share, so that neither is compared at
constants tuned for the other."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from datasets import Dataset

from ..training.arguments import check_grid_values, grid_option_names, parse_decoding_grid, with_credits_off
from ..training.decoding_search import search_decoding_grid
from .sasrec import SASRecConfig, SASRecModel
from .sasrec_training import evaluate_sasrec

logger = logging.getLogger(__name__)

#: The SASRecConfig options a grid may search: they act at inference only, so a trained model can be rescored.
SASREC_SEARCHABLE_OPTIONS = (
    "transition_adjustment",
    "transition_decay",
    "brand_adjustment",
    "popularity_adjustment",
    "recency_adjustment",
)
# The credits whose tables (transitions, brands) a model builds only when they are > 0 at construction.
_TABLE_CREDITS = ("transition_adjustment", "brand_adjustment")
# As MindRec's CREDIT_SHAPE_OPTIONS: the config options that only shape a credit go to 0 when the grid turns it off.
SASREC_CREDIT_SHAPE_OPTIONS = {"transition_adjustment": ("transition_decay", "transition_gap_decay")}


def check_sasrec_decoding_grid(config: SASRecConfig, entries: Sequence[str]) -> list[tuple[str, list[float]]]:
    """Before training: ``entries`` (``NAME=V1,V2,...``, as :attr:`EvaluationArguments.decoding_grid`) parsed into the
    grid :func:`choose_sasrec_decoding_on_validation` searches; a ValueError for an option SASRec cannot search, a
    value invalid beside the configured options, or a credit configured at 0 (its model would be built without the
    table the grid's other values read)."""
    grid = parse_decoding_grid(list(entries), SASREC_SEARCHABLE_OPTIONS)
    for name, _ in grid:
        if name in _TABLE_CREDITS and not getattr(config, name):
            raise ValueError(
                f"SASRec's `decoding_grid` searches {name}, which its config sets to 0: configure it > 0 so that the "
                "model keeps the table its other values read."
            )
    check_grid_values({}, grid, partial(_with_value, config))
    return grid


def _with_value(config: SASRecConfig, options: dict[str, float], **changes: float) -> dict[str, float]:
    """``options`` with ``changes`` (a credit set to 0 takes its shape options to 0 too); a ValueError (SASRecConfig's
    own message) when the result is an invalid config."""
    candidate = {**options, **with_credits_off(changes, SASREC_CREDIT_SHAPE_OPTIONS)}
    SASRecConfig(**{**config.to_dict(), **candidate})
    return candidate


def choose_sasrec_decoding_on_validation(
    model: SASRecModel,
    validation: Dataset,
    grid: Sequence[tuple[str, Sequence[float]]],
    exclude_history: bool,
    batch_size: int = 1024,
    metric: str = "ndcg@10",
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Coordinate search of ``grid`` (``[(option, values), ...]`` as :func:`check_sasrec_decoding_grid` returns it; see
    :func:`~mindrec.training.decoding_search.search_decoding_grid`) on ``validation``, scored by ``metric``; the
    model's config is left at the chosen values. Returns ``({option: chosen value}, trials)``, the shape options of a
    searched credit among the options (each trial sets them all, so that one that turned a credit off leaves no trace)."""
    start = {name: getattr(model.config, name) for name in grid_option_names(grid, SASREC_CREDIT_SHAPE_OPTIONS)}

    def score(options: dict[str, float]) -> float:
        for name, value in options.items():
            setattr(model.config, name, value)  # read at scoring time (item_scores)
        return evaluate_sasrec(model, validation, exclude_history, batch_size)[metric]

    chosen, trials = search_decoding_grid(
        start, grid, score, with_value=partial(_with_value, model.config)
    )
    for name, value in chosen.items():
        setattr(model.config, name, value)
    logger.info("SASRec decoding_grid chose %s", chosen)
    return chosen, trials


__all__ = [
    "SASREC_CREDIT_SHAPE_OPTIONS",
    "SASREC_SEARCHABLE_OPTIONS",
    "check_sasrec_decoding_grid",
    "choose_sasrec_decoding_on_validation",
]
