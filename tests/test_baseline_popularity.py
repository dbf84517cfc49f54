"""Popularity baseline: exact counts from train rows only, exact rankings, exclusion, errors."""

import pytest
import torch
from datasets import Dataset

from mindrec.baselines import PopularityRecommender, interaction_counts


def _train_rows(sequences: dict[str, list[int]], max_history: int | None = None) -> Dataset:
    """Leave-one-out train rows (targets at positions 1 .. len-3), histories cut to ``max_history``."""
    rows = {"user_id": [], "history": [], "target": []}
    for user, items in sequences.items():
        for position in range(1, len(items) - 2):
            history = items[:position]
            rows["user_id"].append(user)
            rows["history"].append(history[-max_history:] if max_history else history)
            rows["target"].append(items[position])
    return Dataset.from_dict(rows)


def test_counts_every_interaction_before_the_validation_item_once():
    # a: 0 1 2 | val 3, test 4      b: 3 1 0 | val 2, test 5
    # c: 6 5 4 3 2 | val 1, test 0 (histories cut to 2 items, so its first item 6 only appears in
    # its shortest history and must still be counted once)
    train = _train_rows(
        {"a": [0, 1, 2, 3, 4], "b": [3, 1, 0, 2, 5], "c": [6, 5, 4, 3, 2, 1, 0]}, max_history=2
    )
    assert interaction_counts(train, num_items=8).tolist() == [
        2,  # item 0: a, b
        2,  # item 1: a, b (c's 1 is a validation target)
        2,  # item 2: a, c
        2,  # item 3: b, c
        1,  # item 4: c (a's 4 is a test target)
        1,  # item 5: c (b's 5 is a test target)
        1,  # item 6: c, position 0
        0,  # item 7: never seen
    ]


def test_counts_do_not_depend_on_row_order_or_an_index_mapping():
    train = _train_rows({"a": [0, 1, 2, 3, 4], "b": [3, 1, 0, 2, 5], "c": [6, 5, 4, 3, 2, 1, 0]}, max_history=2)
    expected = interaction_counts(train, num_items=8).tolist()
    reordered = train.select(list(range(len(train)))[::-1])  # an index mapping over the same Arrow table
    assert interaction_counts(reordered, num_items=8).tolist() == expected
    assert interaction_counts(train.shuffle(seed=3).flatten_indices(), num_items=8).tolist() == expected


def test_ranking_breaks_ties_by_lower_item_index():
    model = PopularityRecommender([1, 3, 0, 3, 1, 2])
    assert model.ranking.tolist() == [1, 3, 5, 0, 4, 2]
    assert model.recommend([[0], [5, 1]], k=4).tolist() == [[1, 3, 5, 0], [1, 3, 5, 0]]


def test_exclude_history_skips_seen_items_and_pads_when_exhausted():
    model = PopularityRecommender([1, 3, 0, 3, 1, 2])
    ranked = model.recommend([[1, 5], [], [0, 1, 2, 3, 4]], k=3, exclude_history=True, batch_size=2)
    assert ranked.tolist() == [[3, 0, 4], [1, 3, 5], [5, -1, -1]]


def test_from_train_split_matches_interaction_counts():
    train = _train_rows({"a": [2, 2, 1, 0, 0], "b": [1, 2, 0, 0]})
    model = PopularityRecommender.from_train_split(train, num_items=3)
    # a: 2 2 1 before its validation item 0; b: 1 2 before its validation item 0
    assert model.item_counts.tolist() == [0, 2, 3]
    assert model.recommend([[0]], k=3).tolist() == [[2, 1, 0]]


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"train row 1 \(user 'a'\) holds item 9, outside 0..4"):
        interaction_counts(_train_rows({"a": [0, 1, 9, 2, 3]}), num_items=5)
    history_bad = Dataset.from_dict({"user_id": ["a", "b"], "history": [[0], [1, -1]], "target": [1, 0]})
    with pytest.raises(ValueError, match=r"train row 1 \(user 'b'\) holds item -1, outside 0..4"):
        interaction_counts(history_bad, num_items=5)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['user_id'\]"):
        interaction_counts(Dataset.from_dict({"history": [[0]], "target": [1]}), num_items=2)
    with pytest.raises(ValueError, match="item 1 has count -2"):
        PopularityRecommender(torch.tensor([1, -2]))
    model = PopularityRecommender([1, 2, 3])
    with pytest.raises(ValueError, match=r"k must be in 1..3 \(the catalogue size\), got 4"):
        model.recommend([[0]], k=4)
    with pytest.raises(ValueError, match=r"history of user row 2 holds item 7, outside 0..2"):
        model.recommend([[0], [1], [7]], k=2, exclude_history=True, batch_size=2)


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 3])
def test_counts_and_errors_read_in_slices_of_rows(monkeypatch, rows_per_chunk):
    """Slices of a few rows give the counts of the whole split, and an error names the split's row, not the slice's."""
    train = _train_rows({"a": [0, 1, 2, 3, 4], "b": [3, 1, 0, 2, 5], "c": [6, 5, 4, 3, 2, 1, 0]}, max_history=2)
    expected = interaction_counts(train, num_items=8).tolist()
    monkeypatch.setattr("mindrec.baselines.popularity.ROWS_PER_CHUNK", rows_per_chunk)
    assert interaction_counts(train, num_items=8).tolist() == expected
    bad = Dataset.from_dict(
        {"user_id": ["a", "a", "b", "b", "c"], "history": [[0], [0, 1], [2], [2, 9], [3]], "target": [1, 2, 3, 1, 7]}
    )
    with pytest.raises(ValueError, match=r"train row 3 \(user 'b'\) holds item 9, outside 0..4"):
        interaction_counts(bad, num_items=5)
