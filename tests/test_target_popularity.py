"""Metrics by target popularity: exact values on hand-made lists, the bucket edges, and the errors."""

import math

import pytest
import torch
from datasets import Dataset

from mindrec.evaluation import cold_target_metrics, metrics_by_target_popularity, popularity_bucket_labels
from mindrec.evaluation.model_evaluation import evaluate_recommender

# Items 0..5 with training counts 0, 4, 5, 9, 10, 100.
COUNTS = [0, 4, 5, 9, 10, 100]
# Four users: targets 0 (count 0), 3 (count 9), 4 (count 10), 5 (count 100).
TARGETS = [0, 3, 4, 5]
RANKED = [
    [0, 1, 2],  # target at rank 1
    [1, 2, 3],  # rank 3
    [0, 1, 2],  # missed
    [1, 5, 0],  # rank 2
]


def test_bucket_labels_name_each_half_open_range():
    assert popularity_bucket_labels() == ["<5", "5-9", "10-19", "20-49", "50-99", ">=100"]
    assert popularity_bucket_labels([1, 3]) == ["<1", "1-2", ">=3"]


@pytest.mark.parametrize("edges", [[], [0, 5], [5, 5], [10, 5]])
def test_bucket_edges_must_increase_from_one(edges):
    with pytest.raises(ValueError, match="strictly increasing"):
        popularity_bucket_labels(edges)


def test_metrics_by_target_popularity_exact_values():
    result = metrics_by_target_popularity(RANKED, TARGETS, COUNTS, edges=(5, 10, 50), ks=(1, 3))
    assert list(result) == ["<5", "5-9", "10-49", ">=50"]
    assert result["<5"] == {"users": 1, "share": 0.25, "hr@1": 1.0, "ndcg@1": 1.0, "hr@3": 1.0, "ndcg@3": 1.0, "mrr": 1.0}
    assert result["5-9"]["hr@1"] == 0.0
    assert result["5-9"]["ndcg@3"] == pytest.approx(1 / math.log2(4))
    assert result["10-49"]["users"] == 1 and result["10-49"]["hr@3"] == 0.0
    assert result[">=50"]["ndcg@3"] == pytest.approx(1 / math.log2(3))
    assert sum(row["users"] for row in result.values()) == len(TARGETS)


def test_an_empty_bucket_has_only_its_size():
    result = metrics_by_target_popularity(RANKED, TARGETS, COUNTS, edges=(1, 2), ks=(1,))
    assert result["1-1"] == {"users": 0, "share": 0.0}


def test_cold_target_metrics_keep_the_users_below_the_threshold():
    cold = cold_target_metrics(RANKED, TARGETS, COUNTS, ks=(1, 3), threshold=10)
    # Targets 0 (rank 1) and 3 (rank 3) are cold; 4 (count 10) is not.
    assert cold["cold_share"] == 0.5
    assert cold["cold_hr@1"] == 0.5
    assert cold["cold_hr@3"] == 1.0
    assert cold["cold_ndcg@3"] == pytest.approx((1.0 + 1 / math.log2(4)) / 2)
    assert "cold_mrr" not in cold


def test_no_cold_target_leaves_only_the_share():
    # Without user 0, every target has at least 9 training interactions.
    assert cold_target_metrics(RANKED[1:], TARGETS[1:], COUNTS, ks=(1,), threshold=5) == {"cold_share": 0.0}


def test_bad_counts_are_named():
    with pytest.raises(ValueError, match="outside item_counts"):
        cold_target_metrics(RANKED, TARGETS, COUNTS[:5], ks=(1,))
    with pytest.raises(ValueError, match="item 2 has count -1"):
        cold_target_metrics(RANKED, TARGETS, [0, 4, -1, 9, 10, 100], ks=(1,))
    with pytest.raises(ValueError, match="threshold must be >= 1"):
        cold_target_metrics(RANKED, TARGETS, COUNTS, ks=(1,), threshold=0)


def test_evaluate_recommender_adds_the_cold_metrics_given_counts():
    split = Dataset.from_dict({"user_id": ["a", "b", "c", "d"], "history": [[1], [2], [3], [4]], "target": TARGETS})
    lists = iter(torch.tensor(RANKED).split(2))

    def recommend(histories):
        return next(lists)

    result = evaluate_recommender(recommend, split, num_items=6, ks=(1, 3), batch_size=2, show_progress=False,
                                  item_counts=torch.tensor(COUNTS))
    assert result.metrics["cold_share"] == 0.5
    assert result.metrics["cold_ndcg@3"] == pytest.approx((1.0 + 1 / math.log2(4)) / 2)
    plain = evaluate_recommender(lambda histories: torch.tensor(RANKED)[: len(histories)], split, num_items=6,
                                 ks=(1,), batch_size=4, show_progress=False)
    assert not any(name.startswith("cold_") for name in plain.metrics)
