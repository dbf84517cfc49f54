"""Ranking metrics against hand-computed values, plus the top-K helpers."""

import math

import numpy as np
import pytest
import torch

from mindrec.evaluation import (
    format_metrics_table,
    history_mask,
    hit_rate_at_k,
    mean_reciprocal_rank,
    ndcg_at_k,
    ranking_metrics,
    target_ranks,
    top_k_items,
    validity,
)

# Five users, lists of 12 items; the target (9) sits at rank 1, 3, 5, 11 and nowhere.
FILLER = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]


def _list_with_target_at(rank: int | None) -> list[int]:
    items = list(FILLER)
    if rank is not None:
        items[rank - 1] = 9
    return items


RANKED = np.array([_list_with_target_at(r) for r in (1, 3, 5, 11, None)])
TARGETS = np.array([9, 9, 9, 9, 9])


def test_target_ranks_are_one_based_and_zero_when_absent():
    assert target_ranks(RANKED, TARGETS).tolist() == [1, 3, 5, 11, 0]


def test_metrics_match_hand_computed_values():
    metrics = ranking_metrics(RANKED, TARGETS)
    assert list(metrics) == ["hr@1", "ndcg@1", "hr@3", "ndcg@3", "hr@5", "ndcg@5", "hr@10", "ndcg@10", "mrr"]
    assert metrics["hr@1"] == pytest.approx(1 / 5)
    assert metrics["hr@3"] == pytest.approx(2 / 5)
    assert metrics["hr@5"] == pytest.approx(3 / 5)
    assert metrics["hr@10"] == pytest.approx(3 / 5)  # rank 11 is outside the cut-off
    assert metrics["ndcg@1"] == pytest.approx(1 / 5)
    assert metrics["ndcg@3"] == pytest.approx((1 + 0.5) / 5)  # 1/log2(4) = 0.5
    assert metrics["ndcg@5"] == pytest.approx((1 + 0.5 + 1 / math.log2(6)) / 5)
    assert metrics["ndcg@10"] == pytest.approx((1 + 0.5 + 1 / math.log2(6)) / 5)
    # MRR is truncated at the list length (12), not at 10: rank 11 still counts.
    assert metrics["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 5 + 1 / 11) / 5)


def test_single_metric_functions_agree_with_ranking_metrics():
    metrics = ranking_metrics(RANKED, TARGETS, ks=(1, 3, 5, 10, 12))
    for k in (1, 3, 5, 10, 12):
        assert hit_rate_at_k(RANKED, TARGETS, k) == metrics[f"hr@{k}"]
        assert ndcg_at_k(RANKED, TARGETS, k) == metrics[f"ndcg@{k}"]
    assert mean_reciprocal_rank(RANKED, TARGETS) == metrics["mrr"]
    assert metrics["hr@12"] == pytest.approx(4 / 5)


def test_first_occurrence_counts_and_padding_never_hits():
    ranked = [[4, 7, 7, -1], [-1, -1, -1, -1]]
    assert target_ranks(ranked, [7, 0]).tolist() == [2, 0]
    assert ranking_metrics(ranked, [7, 0], ks=(1, 2))["ndcg@2"] == pytest.approx(1 / math.log2(3) / 2)


def test_torch_lists_and_numpy_give_the_same_metrics():
    expected = ranking_metrics(RANKED, TARGETS)
    assert ranking_metrics(torch.from_numpy(RANKED), torch.from_numpy(TARGETS)) == expected
    assert ranking_metrics(RANKED.tolist(), TARGETS.tolist()) == expected


@pytest.mark.parametrize(
    ("ranked", "targets", "kwargs", "message"),
    [
        (RANKED, TARGETS, {"ks": (1, 13)}, r"k=13 exceeds the ranked list length 12"),
        (RANKED, TARGETS, {"ks": (0,)}, r"k must be >= 1, got 0"),
        (RANKED, TARGETS, {"ks": ()}, r"ks is empty"),
        (RANKED, TARGETS[:3], {}, r"ranked has 5 users but targets has 3"),
        ([[1, 2], [3]], [1, 2], {"ks": (1,)}, r"rectangular"),
        (RANKED.astype(float), TARGETS, {}, r"integer item indices, got dtype float64"),
        (RANKED, np.array([9, 9, -2, 9, 9]), {}, r"user 2 has target -2"),
        ([[1, -3]], [1], {"ks": (1,)}, r"user 0 slot 1 holds -3"),
        (np.zeros((0, 10), dtype=int), np.zeros(0, dtype=int), {}, r"zero users"),
        (RANKED[0], TARGETS, {}, r"ranked must be 2-D"),
    ],
)
def test_bad_inputs_raise_clear_errors(ranked, targets, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ranking_metrics(ranked, targets, **kwargs)


def test_validity_counts_in_range_first_occurrences():
    ranked = [[0, 1, 1, -1], [2, 5, 3, 0]]
    # row 0: 0, 1 valid; repeated 1 and the empty slot are not. row 1: 2, 3, 0 valid; 5 is outside 0..3.
    assert validity(ranked, num_items=4) == pytest.approx(5 / 8)
    assert validity([[3, 2, 1, 0]], num_items=4) == 1.0
    with pytest.raises(ValueError, match="num_items must be >= 1, got 0"):
        validity(ranked, num_items=0)


def test_format_metrics_table_is_markdown_with_union_of_columns():
    table = format_metrics_table(
        {"pop": {"hr@1": 0.00361, "ndcg@10": 0.0098}, "sasrec": {"hr@1": 0.5, "epochs": 3}}
    )
    assert table == (
        "| model | hr@1 | ndcg@10 | epochs |\n"
        "|---|---|---|---|\n"
        "| pop | 0.0036 | 0.0098 |  |\n"
        "| sasrec | 0.5000 |  | 3 |\n"
    )
    with pytest.raises(ValueError, match="results is empty"):
        format_metrics_table({})


def test_top_k_items_excludes_and_fills_with_minus_one():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.3], [0.4, 0.2, 0.8, float("-inf")]])
    assert top_k_items(scores, 2).tolist() == [[1, 2], [2, 0]]
    exclude = history_mask([[1], [0, 2]], num_items=4)
    assert exclude.tolist() == [[False, True, False, False], [True, False, True, False]]
    # Row 1 keeps only item 1 (item 3 has score -inf), so its last two slots are empty.
    assert top_k_items(scores, 3, exclude=exclude).tolist() == [[2, 3, 0], [1, -1, -1]]


def test_ranking_helpers_reject_bad_input():
    with pytest.raises(ValueError, match=r"history of user row 7 holds item 4, outside 0..3"):
        history_mask([[0], [4]], num_items=4, first_row=6)
    with pytest.raises(ValueError, match=r"k must be in 1..4"):
        top_k_items(torch.zeros(2, 4), 5)
    with pytest.raises(ValueError, match=r"exclude has shape \(1, 4\)"):
        top_k_items(torch.zeros(2, 4), 2, exclude=torch.zeros(1, 4, dtype=torch.bool))
