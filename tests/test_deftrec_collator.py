"""DeftRecCollator: layout, truncation, valid and reproducible negatives, errors."""

import pytest
import torch

from mindrec.training.deftrec_collator import DeftRecCollator


def rows():
    return [
        {"user_id": "a", "history": [3, 1, 4, 1, 5], "target": 9},
        {"user_id": "b", "history": [2], "target": 6},
        {"user_id": "c", "history": [], "target": 0},
    ]


def test_layout_and_truncation():
    batch = DeftRecCollator(num_items=12, max_history=3, num_negatives=2, seed=0)(rows())
    assert batch["history_items"].tolist() == [[4, 1, 5], [-1, -1, 2], [-1, -1, -1]]
    assert batch["target_items"].tolist() == [9, 6, 0]
    assert batch["negative_items"].shape == (3, 2)
    assert all(t.dtype == torch.long for t in batch.values())


def test_negatives_avoid_target_and_history_and_cover_the_rest():
    # 8 items, a history of 5 and a target: only items 6 and 7 are allowed negatives.
    collator = DeftRecCollator(num_items=8, max_history=10, num_negatives=50, seed=0)
    batch = collator([{"user_id": "u", "history": [0, 1, 2, 3, 4], "target": 5}] * 4)
    assert set(batch["negative_items"].flatten().tolist()) == {6, 7}
    # Many random rows: a negative is never the row's target nor in its history.
    generator = torch.Generator().manual_seed(1)
    many = []
    for index in range(200):
        items = torch.randperm(20, generator=generator)[: int(torch.randint(2, 15, (1,), generator=generator))]
        many.append({"user_id": str(index), "history": items[:-1].tolist(), "target": int(items[-1])})
    batch = DeftRecCollator(num_items=20, max_history=20, num_negatives=5, seed=3)(many)
    for row, negatives in zip(many, batch["negative_items"].tolist(), strict=True):
        assert not set(negatives) & {*row["history"], row["target"]}
        assert all(0 <= n < 20 for n in negatives)


def test_truncated_history_items_may_be_negatives():
    """Only the history the model sees is excluded: item 0 was truncated away, so it is allowed."""
    collator = DeftRecCollator(num_items=4, max_history=2, num_negatives=30, seed=0)
    batch = collator([{"user_id": "u", "history": [0, 1, 2], "target": 3}])
    assert set(batch["negative_items"].flatten().tolist()) == {0}


def test_negatives_are_reproducible_with_the_seed():
    first = [DeftRecCollator(20, 5, 4, seed=7)(rows())["negative_items"] for _ in range(2)]
    torch.testing.assert_close(first[0], first[1], atol=0, rtol=0)
    other = DeftRecCollator(20, 5, 4, seed=8)(rows())["negative_items"]
    assert not torch.equal(first[0], other)
    collator = DeftRecCollator(20, 5, 4, seed=7)
    assert torch.equal(collator(rows())["negative_items"], first[0])
    assert not torch.equal(collator(rows())["negative_items"], first[0])  # the stream advances


def test_zero_negatives_give_an_empty_tensor():
    batch = DeftRecCollator(num_items=12, max_history=3, num_negatives=0)(rows())
    assert batch["negative_items"].shape == (3, 0)


def test_errors_name_the_row_and_item():
    collator = DeftRecCollator(num_items=10, max_history=3, num_negatives=1)
    with pytest.raises(ValueError, match=r"row 1 \(user_id='b'\) holds item index 10, outside \[0, 10\)"):
        collator([rows()[2], {"user_id": "b", "history": [1], "target": 10}])
    with pytest.raises(ValueError, match=r"row 0 \(user_id='x'\) holds item index -2"):
        collator([{"user_id": "x", "history": [-2], "target": 1}])
    with pytest.raises(ValueError, match=r"row 0 \(user_id='x'\) has no 'target' field"):
        collator([{"user_id": "x", "history": [1]}])
    with pytest.raises(ValueError, match="cover all 3 items, so no negative can be drawn"):
        DeftRecCollator(num_items=3, max_history=3, num_negatives=1)([{"user_id": "x", "history": [0, 1], "target": 2}])
    with pytest.raises(ValueError, match="empty list of rows"):
        collator([])
    with pytest.raises(ValueError, match="`num_negatives` must be >= 0, got -1"):
        DeftRecCollator(num_items=3, max_history=3, num_negatives=-1)
