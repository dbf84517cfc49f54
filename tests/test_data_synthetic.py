"""The synthetic catalogue: determinism, shape of the tree, and a planted signal that beats popularity."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from mindrec.data import make_synthetic_dataset

SMALL = {"num_users": 300, "num_items": 200}


def as_dicts(data):
    return data.items.to_dict(), {name: split.to_dict() for name, split in data.splits.items()}


def test_same_seed_same_data_other_seed_other_data():
    first = make_synthetic_dataset(seed=3, **SMALL)
    assert as_dicts(first) == as_dicts(make_synthetic_dataset(seed=3, **SMALL))
    other = make_synthetic_dataset(seed=4, **SMALL)
    assert first.items["title"] != other.items["title"]
    assert first.splits["test"]["target"] != other.splits["test"]["target"]


def test_sizes_lengths_and_category_tree():
    data = make_synthetic_dataset(seed=0, min_length=5, max_length=8, **SMALL)
    stats = data.statistics()
    assert (stats["users"], stats["items"]) == (300, 200)
    assert 5 * 300 <= stats["interactions"] <= 8 * 300
    assert data.item_ids == [f"I{i:05d}" for i in range(200)]
    paths = data.items["categories"]
    assert {path[0] for path in paths} == {"Synthetic Store"}
    depths = Counter(len(path) for path in paths)
    assert set(depths) == {3, 4} and depths[3] < depths[4]  # some items stop at level 2
    assert len({path[1] for path in paths}) == 4
    assert len({tuple(path[:3]) for path in paths}) == 12
    assert len({tuple(path) for path in paths if len(path) == 4}) <= 36
    assert any(", " in path[1] and "&" in path[1] for path in paths)  # an "Arts, Crafts & Sewing"-style name
    lengths = [len(h) + 1 for h in data.splits["test"]["history"]]
    assert min(lengths) >= 5 and max(lengths) <= 8


def test_text_carries_category_signal():
    data = make_synthetic_dataset(seed=1, **SMALL)
    words = [set(d.lower().rstrip(".").split()) - {"a", "with"} for d in data.items["description"]]
    groups = [tuple(path[:3]) for path in data.items["categories"]]
    same, across = [], []
    for i in range(0, 200, 3):
        for j in range(i + 1, 200, 7):
            overlap = len(words[i] & words[j]) / len(words[i] | words[j])
            (same if groups[i] == groups[j] else across).append(overlap)
    assert sum(same) / len(same) > 3 * sum(across) / len(across)
    assert len(set(data.items["title"])) == 200  # item-specific words keep titles distinct


def hit_rate_at_10(train, test, recommend):
    hits = sum(
        target in recommend(history) for history, target in zip(test["history"], test["target"], strict=True)
    )
    return hits / len(test)


def test_last_item_transitions_beat_popularity_with_short_histories():
    data = make_synthetic_dataset(seed=0, max_history=10)
    train, test = data.splits["train"], data.splits["test"]
    popular = [item for item, _ in Counter(train["target"]).most_common(10)]
    following = defaultdict(Counter)
    for history, target in zip(train["history"], train["target"], strict=True):
        following[history[-1]][target] += 1

    def markov(history):
        top = [item for item, _ in following[history[-1]].most_common(10)]
        return top + [item for item in popular if item not in top][: 10 - len(top)]

    popularity_hr = hit_rate_at_10(train, test, lambda history: popular)
    markov_hr = hit_rate_at_10(train, test, markov)
    assert popularity_hr > 0.02  # popularity is a real baseline here, not zero
    assert markov_hr > 4 * popularity_hr


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"branching": (4, 3)}, "branching must be three positive sizes"),
        ({"min_length": 2}, "need 3 <= min_length <= max_length, got 2, 20"),
        ({"transition_prob": 1.5}, "transition_prob must be in"),
        ({"num_items": 3, "num_transitions": 3}, "1 <= num_transitions < num_items"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic_dataset(**kwargs)
