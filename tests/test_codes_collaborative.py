"""Collaborative item vectors (training co-occurrence, PPMI + SVD) and their mix with content vectors."""

import numpy as np
import pytest

from mindrec.tokenization.collaborative import combine_item_vectors, cooccurrence_item_vectors


def two_communities():
    """Items 0-3 are bought together, items 4-7 are bought together; item 8 is never in a training row."""
    histories, targets = [], []
    rng = np.random.default_rng(0)
    for _ in range(60):
        for group in (range(0, 4), range(4, 8)):
            sequence = list(rng.permutation(list(group)))
            for position in range(1, len(sequence)):
                histories.append(sequence[:position])
                targets.append(sequence[position])
    return histories, targets


def test_items_bought_together_get_nearby_vectors():
    histories, targets = two_communities()
    vectors = cooccurrence_item_vectors(histories, targets, num_items=9, dim=4, window=3)
    assert vectors.shape == (9, 4) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:8], axis=1), 1.0, atol=1e-5)
    assert np.all(vectors[8] == 0)  # no co-occurrence: a zero row, not noise
    similarity = vectors[:8] @ vectors[:8].T
    within = [similarity[i, j] for i in range(8) for j in range(8) if i != j and i // 4 == j // 4]
    across = [similarity[i, j] for i in range(8) for j in range(8) if i // 4 != j // 4]
    assert min(within) > max(across) + 0.2


def test_the_same_rows_and_seed_give_the_same_vectors():
    histories, targets = two_communities()
    first = cooccurrence_item_vectors(histories, targets, 9, dim=3, seed=1)
    np.testing.assert_array_equal(first, cooccurrence_item_vectors(histories, targets, 9, dim=3, seed=1))


def test_bad_rows_are_refused():
    with pytest.raises(ValueError, match="2 histories but 1 targets"):
        cooccurrence_item_vectors([[0], [1]], [1], 3)
    with pytest.raises(ValueError, match=r"item index 5 is outside \[0, 3\)"):
        cooccurrence_item_vectors([[0, 5]], [1], 3)
    with pytest.raises(ValueError, match="no co-occurring items"):
        cooccurrence_item_vectors([[]], [1], 3)
    with pytest.raises(ValueError, match="dim and window"):
        cooccurrence_item_vectors([[0]], [1], 3, dim=0)


def test_combined_distances_mix_content_and_collaborative_distances_by_the_weight():
    rng = np.random.default_rng(3)
    content, collaborative = rng.normal(size=(5, 6)), rng.normal(size=(5, 3))
    mixed = combine_item_vectors(content, collaborative, collaborative_weight=0.25)
    assert mixed.shape == (5, 9)
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    distance = lambda m: ((m[:, None] - m[None]) ** 2).sum(-1)  # noqa: E731
    expected = 0.75 * distance(unit(content)) + 0.25 * distance(unit(collaborative))
    np.testing.assert_allclose(distance(mixed), expected, atol=1e-5)
    with pytest.raises(ValueError, match="collaborative_weight"):
        combine_item_vectors(content, collaborative, 1.5)


def pair_by_pair_counts(histories, targets, num_items, window):
    """The co-occurrence counts by their definition, one pair at a time."""
    counts = np.zeros((num_items, num_items))
    for history, target in zip(histories, targets, strict=True):
        for distance, item in enumerate(reversed(list(history)[-window:]), start=1):
            counts[target, item] += 1.0 / distance
            counts[item, target] += 1.0 / distance
    return counts


@pytest.mark.parametrize("window", [1, 2, 3, 5])
def test_rows_as_arrays_give_the_vectors_of_rows_as_lists(monkeypatch, window):
    """The column-wise counts equal the definition's, and the list and array entry points return the same vectors."""
    import scipy.sparse

    from mindrec.tokenization.collaborative import cooccurrence_vectors_of_rows

    histories, targets = two_communities()
    histories = [history[-2:] if index % 3 else history for index, history in enumerate(histories)]  # uneven lengths
    seen = []
    coo_matrix = scipy.sparse.coo_matrix

    def spy(arg, shape):
        matrix = coo_matrix(arg, shape=shape)
        seen.append(matrix.toarray())
        return matrix

    monkeypatch.setattr(scipy.sparse, "coo_matrix", spy)
    vectors = cooccurrence_item_vectors(histories, targets, 9, dim=3, window=window, seed=2)
    np.testing.assert_allclose(seen[0], pair_by_pair_counts(histories, targets, 9, window), rtol=1e-12)
    values = np.array([item for history in histories for item in history], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(history) for history in histories])])
    from_arrays = cooccurrence_vectors_of_rows(values, offsets, np.array(targets), 9, dim=3, window=window, seed=2)
    np.testing.assert_array_equal(from_arrays, vectors)
