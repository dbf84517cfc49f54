"""Every user's ranked list as JSON lines, so that anyone can recompute the metrics from the raw data.

One line per evaluated user, in split order::

    {"user": "17", "items": ["B004756YJA", "B00021DJ32", ...], "scores": [-1.23, -2.5, ...]}

``user`` is the user id as in the data, ``items`` the recommended item ids as in the data (best first;
``-1`` pads, i.e. users with fewer than K items left after exclusions, are left out) and ``scores``
the recommender's score of each listed item (sum of code log-probs for MindRec, retrieval score for
DeftRec, training interaction count for popularity), or ``null`` when the recommender gives none.
The target is not written: it is the user's last item in the raw sequences (leave-one-out test), or
the second to last for the validation split.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence

from mindrec.io_utils import atomic_write_text

from .model_evaluation import EvaluationResult


def prediction_records(result: EvaluationResult, item_ids: Sequence[str]) -> Iterator[dict]:
    """``{"user", "items", "scores"}`` per user of ``result`` (see the module docstring)."""
    lists = result.item_lists.tolist()
    scores = result.scores.tolist() if result.scores is not None else [None] * len(lists)
    for user, ranked, row_scores in zip(result.user_ids, lists, scores, strict=True):
        kept = [position for position, index in enumerate(ranked) if index >= 0]
        yield {
            "user": user,
            "items": [item_ids[ranked[position]] for position in kept],
            "scores": None
            if row_scores is None
            else [_finite_or_none(row_scores[position]) for position in kept],
        }


def _finite_or_none(value: float) -> float | None:
    # JSON has no -inf; an item with an impossible score cannot be listed anyway.
    return value if math.isfinite(value) else None


def write_predictions_jsonl(
    path: str | os.PathLike, result: EvaluationResult, item_ids: Sequence[str]
) -> None:
    """Write ``result`` as JSON lines to ``path`` atomically (the file is complete or absent)."""
    lines = (json.dumps(record, ensure_ascii=False) for record in prediction_records(result, item_ids))
    atomic_write_text(path, "".join(line + "\n" for line in lines))


__all__ = ["prediction_records", "write_predictions_jsonl"]
