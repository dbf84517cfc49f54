"""Exact-item leave-one-out ranking metrics (HR@K, NDCG@K, MRR, validity) as an ``evaluate`` module.

Load it from this folder: ``evaluate.load("<path>/recommendation_metrics")``. The file depends only
on numpy, datasets and evaluate, so the folder can also be pushed as a Hub metric Space as it is.
Its formulas are those of ``mindrec.evaluation.metrics``; the tests check that both agree.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """\
Ranking metrics for next-item recommendation with one held-out target per user (leave-one-out).
For each user, `predictions` is the ranked list of recommended item indices (best first, -1 for an
empty slot) and `references` is the target item index. With rank = 1-based position of the target
in the list (first occurrence; absent = no rank):

* hr@K   = mean over users of 1[rank <= K]            (equals Recall@K with one target)
* ndcg@K = mean over users of 1/log2(rank + 1) if rank <= K else 0   (ideal DCG = 1)
* mrr    = mean over users of 1/rank, 0 if absent     (truncated at the list length L: MRR@L)
* validity (only with `num_items`) = fraction of list slots holding an item in 0..num_items-1 that
  did not occur earlier in the same list; empty slots (-1) count as invalid.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `int`): one ranked list per user, all of the same length L.
    references (`list` of `int`): one target item index (>= 0) per user.
    k_values (`list` of `int`, default [1, 3, 5, 10]): cut-offs, each 1 <= K <= L.
    num_items (`int`, optional): catalogue size; when given, `validity` is reported too.
Returns:
    dict: `hr@K` and `ndcg@K` for each K, `mrr`, and `validity` when `num_items` is given.
Examples:
    >>> metric = evaluate.load("path/to/recommendation_metrics")
    >>> metric.compute(predictions=[[3, 1, 2], [5, 6, 7]], references=[1, 9], k_values=[1, 3])
    {'hr@1': 0.0, 'ndcg@1': 0.0, 'hr@3': 0.5, 'ndcg@3': 0.31546487678572877, 'mrr': 0.25}
"""

_CITATION = """\
@inproceedings{kang2018sasrec,
  title={Self-Attentive Sequential Recommendation},
  author={Kang, Wang-Cheng and McAuley, Julian},
  booktitle={ICDM},
  year={2018}
}
"""


def _ranks(predictions, references):
    """1-based rank ``[n]`` of each target in its list (first occurrence), 0 when absent."""
    hits = predictions == references[:, None]
    return np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)


def _validity(predictions, num_items):
    """Fraction of slots holding an in-range item not seen earlier in the same list."""
    valid = 0
    for row in predictions.tolist():
        seen = set()
        for item in row:
            if 0 <= item < num_items and item not in seen:
                valid += 1
            seen.add(item)
    return valid / predictions.size


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RecommendationMetrics(evaluate.Metric):
    """HR@K, NDCG@K, MRR and validity of ranked item lists against one target per user."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("int64")),
                    "references": datasets.Value("int64"),
                }
            ),
        )

    def _compute(self, predictions, references, k_values=(1, 3, 5, 10), num_items=None):
        lengths = {len(row) for row in predictions}
        if len(lengths) != 1:
            raise ValueError(
                f"every prediction list must have the same length; got lengths {sorted(lengths)}"
            )
        predictions = np.asarray(predictions, dtype=np.int64).reshape(len(predictions), -1)  # [n, L]
        references = np.asarray(references, dtype=np.int64)  # [n]
        if (references < 0).any():
            user = int(np.flatnonzero(references < 0)[0])
            raise ValueError(f"references must be item indices >= 0; user {user} has {int(references[user])}")
        if len(k_values) == 0:
            raise ValueError("k_values is empty; give at least one cut-off")
        list_length = predictions.shape[1]
        for k in k_values:
            if not 1 <= k <= list_length:
                raise ValueError(f"each k must be in 1..{list_length} (the prediction list length), got {k}")
        ranks = _ranks(predictions, references)
        found = ranks > 0
        results = {}
        for k in k_values:
            hit = found & (ranks <= k)
            results[f"hr@{k}"] = float(hit.mean())
            results[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(np.maximum(ranks, 1) + 1.0), 0.0).mean())
        results["mrr"] = float(np.where(found, 1.0 / np.maximum(ranks, 1), 0.0).mean())
        if num_items is not None:
            if num_items < 1:
                raise ValueError(f"num_items must be >= 1, got {num_items}")
            results["validity"] = _validity(predictions, num_items)
        return results
