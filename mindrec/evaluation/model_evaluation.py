"""Decode a split with any recommender and score it: ranked item lists, metrics, validity, users/s.

A *recommender* here is any callable ``recommend(histories) -> LongTensor [b, K]`` that maps a batch of
user histories (item-index lists) to K item indices each, best first (``-1`` for an empty slot); it may
instead return an object with ``item_indices [b, K]`` and ``scores [b, K]`` (a ``RecommendationOutput``),
whose scores are then kept with the lists (``EvaluationResult.scores``, written by
:mod:`mindrec.evaluation.predictions`).
:func:`mindrec_recommender` wraps ``model.generate`` (any decoding strategy), :func:`deftrec_recommender`
DeftRec's generate, and :func:`popularity_recommender` the popularity baseline, so every row of a
results table comes from the same loop and the same metric code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from datasets import Dataset
from tqdm.auto import tqdm

from .metrics import ranking_metrics, validity
from .target_popularity import cold_target_metrics

logger = logging.getLogger(__name__)

Recommender = Callable[[list[list[int]]], Any]


class RankedItems(NamedTuple):
    """A recommender's answer with scores: ``item_indices [b, K]`` (best first, -1 pads), ``scores [b, K]``."""

    item_indices: torch.LongTensor
    scores: torch.FloatTensor


@dataclass
class EvaluationResult:
    """What :func:`evaluate_recommender` returns.

    Attributes:
        metrics: ``hr@K`` / ``ndcg@K`` for every K, ``mrr``, ``validity`` (fraction of list slots holding a
            valid, not repeated catalogue item) and ``users_per_second`` (decoding throughput).
        item_lists: ``[num_users, K]`` recommended item indices, best first.
        targets: ``[num_users]`` target item indices.
        user_ids: the users, in row order.
        seconds: wall-clock seconds spent in the recommender.
        scores: ``[num_users, K]`` fp32 scores of ``item_lists`` when the recommender returns them, else None.
    """

    metrics: dict[str, float]
    item_lists: torch.LongTensor
    targets: torch.LongTensor
    user_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    scores: torch.FloatTensor | None = None


def evaluate_recommender(
    recommend: Recommender,
    split: Dataset,
    num_items: int,
    ks: Sequence[int] = (1, 5, 10),
    batch_size: int = 128,
    max_users: int | None = None,
    subset_seed: int = 0,
    show_progress: bool = True,
    description: str = "evaluating",
    accelerator: Any | None = None,
    item_counts: torch.Tensor | None = None,
) -> EvaluationResult:
    """Recommend for every row of ``split`` in batches and compute the metrics.

    Args:
        recommend: ``histories (list of b item-index lists) -> LongTensor [b, K]`` with ``K >= max(ks)``.
        split: rows ``user_id``, ``history``, ``target`` (one target per user).
        num_items: catalogue size (for the validity rate).
        ks: cut-offs of HR@K and NDCG@K.
        batch_size: users per call of ``recommend``.
        max_users: score a fixed random subset of this many rows (seeded by ``subset_seed``); None = all.
        show_progress: tqdm bar over the batches (main process only).
        accelerator: an ``accelerate.Accelerator``: each process decodes its share of the users and the
            lists are gathered, so every process returns the same result.
        item_counts: ``[num_items]`` training interaction counts
            (:func:`~mindrec.baselines.popularity.interaction_counts`): the metrics then also hold
            ``cold_share``, ``cold_hr@K`` and ``cold_ndcg@K`` over the users whose target is cold
            (:func:`~mindrec.evaluation.target_popularity.cold_target_metrics`).

    Raises:
        ValueError: an empty split, or a recommender returning the wrong shape (names the batch).
    """
    if len(split) == 0:
        raise ValueError("Cannot evaluate an empty split.")
    rows = list(range(len(split)))
    if max_users is not None and max_users < len(rows):
        generator = torch.Generator().manual_seed(subset_seed)
        rows = sorted(torch.randperm(len(rows), generator=generator)[:max_users].tolist())
    subset = split.select(rows) if len(rows) < len(split) else split
    histories = [list(history) for history in subset["history"]]
    targets = torch.tensor(subset["target"], dtype=torch.long)
    user_ids = list(subset["user_id"])

    # Contiguous shares per process; gather_object concatenates them back in process order.
    share = range(len(histories))
    is_main = True
    if accelerator is not None and accelerator.num_processes > 1:
        count, rank = accelerator.num_processes, accelerator.process_index
        per_process = -(-len(histories) // count)
        share = range(rank * per_process, min(len(histories), (rank + 1) * per_process))
        is_main = accelerator.is_main_process

    lists: list[list[int]] = []
    score_lists: list[list[float]] | None = []
    started = time.perf_counter()
    starts = range(share.start, share.stop, batch_size)
    for start in tqdm(starts, desc=description, disable=not (show_progress and is_main), leave=False):
        batch = histories[start : min(start + batch_size, share.stop)]
        output = recommend(batch)
        scores = getattr(output, "scores", None)
        ranked = torch.as_tensor(getattr(output, "item_indices", output)).detach().cpu().long()
        if ranked.dim() != 2 or ranked.shape[0] != len(batch):
            raise ValueError(
                f"The recommender returned shape {tuple(ranked.shape)} for a batch of {len(batch)} users "
                f"(rows {start}..{start + len(batch) - 1}); expected [{len(batch)}, K]."
            )
        lists.extend(ranked.tolist())
        if scores is None or score_lists is None:
            score_lists = None
        else:
            score_lists.extend(torch.as_tensor(scores).detach().float().cpu().tolist())
    seconds = time.perf_counter() - started
    if accelerator is not None and accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        lists = gather_object(lists)
        seconds = max(gather_object([seconds]))
        # Every process holds scores or none does (one recommender); gather keeps rows aligned.
        score_lists = gather_object(score_lists) if score_lists is not None else None

    item_lists = torch.tensor(lists, dtype=torch.long)
    metrics = ranking_metrics(item_lists, targets, ks=ks)
    metrics["validity"] = validity(item_lists, num_items)
    if item_counts is not None:
        metrics.update(cold_target_metrics(item_lists, targets, item_counts, ks=ks))
    metrics["users_per_second"] = len(lists) / seconds if seconds > 0 else float("inf")
    return EvaluationResult(
        metrics=metrics,
        item_lists=item_lists,
        targets=targets,
        user_ids=user_ids,
        seconds=seconds,
        scores=torch.tensor(score_lists, dtype=torch.float32) if score_lists is not None else None,
    )


def mindrec_recommender(model, tokenizer, generation_config, catalogue=None) -> Recommender:
    """A recommender decoding with ``model.generate`` (any strategy of ``generation_config``).

    Args:
        model: a MindRec task model (eval mode is set by the caller).
        tokenizer: its :class:`MindRecTokenizer` (prompts use template 0).
        generation_config: a ``RecommendationGenerationConfig``; with ``exclude_history`` the users'
            histories are passed as ``excluded_items``.
        catalogue: a ``CatalogueIndex`` (built once from ``tokenizer.item_codes`` when None).
    """
    from mindrec.modeling.catalogue_index import CatalogueIndex

    device = next(model.parameters()).device
    if catalogue is None:
        config = model.config
        catalogue = CatalogueIndex(tokenizer.item_codes, config.code_slot_sizes, config.num_category_levels)
    catalogue = catalogue.to(device)

    def recommend(histories: list[list[int]]):
        inputs = tokenizer(histories, items="indices", return_tensors="pt").to(device)
        return model.generate(
            **inputs,
            catalogue=catalogue,
            generation_config=generation_config,
            excluded_items=histories if generation_config.exclude_history else None,
        )  # RecommendationOutput: item_indices and scores [b, K]

    return recommend


def deftrec_recommender(
    model, num_return_items: int, exclude_history: bool, seed: int = 0, num_inference_steps: int | None = None
) -> Recommender:
    """A recommender over DeftRec's ``generate`` (DDPM sampling then retrieval).

    The sampling noise comes from one generator seeded with ``seed``, so a run over the same users
    in the same batches is reproducible. Histories longer than ``model.config.max_history`` keep their
    most recent items.
    """
    device = next(model.parameters()).device
    max_history = model.config.max_history
    generator = torch.Generator(device=device).manual_seed(seed)

    def recommend(histories: list[list[int]]):
        kept = [list(history)[-max_history:] if max_history else [] for history in histories]
        width = max(len(history) for history in kept)
        history_items = torch.full((len(kept), width), -1, dtype=torch.long)
        for row, history in enumerate(kept):
            if history:
                history_items[row, width - len(history) :] = torch.tensor(history, dtype=torch.long)
        output = model.generate(
            history_items=history_items.to(device),
            num_return_items=num_return_items,
            exclude_history=exclude_history,
            generator=generator,
            num_inference_steps=num_inference_steps,
        )
        return output  # DeftRecGenerationOutput: item_indices and retrieval scores [b, K]

    return recommend


def popularity_recommender(popularity, num_return_items: int, exclude_history: bool) -> Recommender:
    """A recommender over :class:`~mindrec.baselines.popularity.PopularityRecommender`."""

    counts = popularity.item_counts.float()

    def recommend(histories: list[list[int]]) -> RankedItems:
        ranked = popularity.recommend(histories, num_return_items, exclude_history=exclude_history)
        # The score of an item is its training interaction count (-inf on -1 pads).
        scores = torch.where(ranked >= 0, counts[ranked.clamp(min=0)], torch.tensor(float("-inf")))
        return RankedItems(ranked, scores)

    return recommend


def evaluate_model(
    model,
    tokenizer,
    split: Dataset,
    generation_config,
    ks: Sequence[int] = (1, 5, 10),
    batch_size: int = 128,
    max_users: int | None = None,
    show_progress: bool = True,
    description: str = "decoding",
) -> EvaluationResult:
    """Decode ``split`` with a MindRec model and score it (see :func:`evaluate_recommender`)."""
    was_training = model.training
    model.eval()
    try:
        return evaluate_recommender(
            mindrec_recommender(model, tokenizer, generation_config),
            split,
            tokenizer.num_items,
            ks=ks,
            batch_size=batch_size,
            max_users=max_users,
            show_progress=show_progress,
            description=description,
        )
    finally:
        model.train(was_training)


__all__ = [
    "EvaluationResult",
    "RankedItems",
    "Recommender",
    "deftrec_recommender",
    "evaluate_model",
    "evaluate_recommender",
    "mindrec_recommender",
    "popularity_recommender",
]
