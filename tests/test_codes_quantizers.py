"""Quantisers (RQ-KMeans, RQ-VAE, OPQ/PQ) and collision resolution."""

import logging

import numpy as np
import pytest
import torch

from mindrec.tokenization.quantizers import (
    OPQQuantizer,
    PQQuantizer,
    RQKMeansQuantizer,
    RQVAEQuantizer,
    make_quantizer,
    resolve_collisions,
)

TINY_VAE = {"hidden_sizes": (16,), "latent_dim": 4, "steps": 20, "batch_size": 32, "reset_every": 5}


def clustered_points(seed: int = 0) -> np.ndarray:
    """48 points in 4 far-apart groups of 12 ([48, 6]); each group has 3 tight sub-groups of 4."""
    rng = np.random.default_rng(seed)
    groups = rng.normal(size=(4, 6)) * 100
    subgroups = rng.normal(size=(4, 3, 6)) * 5
    noise = rng.normal(size=(4, 3, 4, 6)) * 0.1
    return (groups[:, None, None] + subgroups[:, :, None] + noise).reshape(48, 6).astype(np.float32)


def quantizer(name: str, **kwargs):
    extra = TINY_VAE if name == "rq-vae" else {}
    return make_quantizer(name, num_digits=2, codebook_size=4, seed=0, show_progress=False, **extra, **kwargs)


def test_rq_kmeans_first_digit_is_the_coarse_group():
    points = clustered_points()
    codes = quantizer("rq-kmeans").fit(points).encode(points)
    assert codes.dtype == np.int64 and codes.shape == (48, 2)
    groups = codes[:, 0].reshape(4, 12)
    # Every group gets one first digit, and the four groups get four different ones.
    assert (groups == groups[:, :1]).all() and sorted(groups[:, 0].tolist()) == [0, 1, 2, 3]


@pytest.mark.parametrize("name", ["rq-kmeans", "rq-vae", "opq", "pq"])
def test_codes_are_deterministic_and_consistent_with_distances(name):
    points = clustered_points()
    first = quantizer(name).fit(points)
    codes = first.encode(points)
    np.testing.assert_array_equal(codes, quantizer(name).fit(points).encode(points))
    assert codes.min() >= 0 and codes.max() < 4 and codes.shape == (48, 2)
    distances = first.digit_distances(points, codes)
    assert distances.shape == (48, 2, 4)
    # Encoding is greedy nearest-centroid, digit by digit, on the same distances.
    np.testing.assert_array_equal(distances.argmin(2), codes)
    errors = first.reconstruction_error(points, codes)
    assert errors.shape == (48,) and (errors >= 0).all()


def test_rq_kmeans_reconstruction_error_is_the_residual_norm():
    points = clustered_points()
    model = quantizer("rq-kmeans").fit(points)
    codes = model.encode(points)
    reconstruction = model.codebooks[0][codes[:, 0]] + model.codebooks[1][codes[:, 1]]
    np.testing.assert_allclose(
        model.reconstruction_error(points, codes), ((points - reconstruction) ** 2).sum(1), rtol=1e-5
    )
    # The last digit's distance to its own centroid is that same residual norm.
    own = np.take_along_axis(model.digit_distances(points, codes)[:, 1], codes[:, 1:], 1)[:, 0]
    np.testing.assert_allclose(own, model.reconstruction_error(points, codes), rtol=1e-3, atol=1e-3)


def test_opq_rotation_is_orthogonal_and_pq_has_none():
    points = clustered_points()
    opq = quantizer("opq").fit(points)
    assert opq.pca_dim == 6
    np.testing.assert_allclose(opq.rotation @ opq.rotation.T, np.eye(6), atol=1e-5)
    pq = quantizer("pq").fit(points)
    np.testing.assert_array_equal(pq.rotation, np.eye(6, dtype=np.float32))
    assert "opq_iterations" not in pq.config() and opq.config()["opq_iterations"] == 8


def test_pq_drops_directions_without_variance():
    points = np.zeros((10, 5), dtype=np.float32)
    points[:, 0] = np.arange(10)
    points[:, 1] = np.arange(10) ** 2
    model = PQQuantizer(num_digits=2, codebook_size=2, show_progress=False).fit(points)
    assert model.pca_dim == 2
    with pytest.raises(ValueError, match=r"span 2 dimensions \(max_dim=256\), fewer than num_digits=3"):
        PQQuantizer(num_digits=3, codebook_size=2, show_progress=False).fit(points)


def test_codebook_size_is_clamped_to_distinct_points(caplog):
    points = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0)  # 12 rows, 3 distinct
    with caplog.at_level(logging.WARNING):
        model = RQKMeansQuantizer(num_digits=2, codebook_size=8, show_progress=False).fit(points)
    assert model.codebook_size == 3 and model.config()["requested_codebook_size"] == 8
    assert "codebook_size 8 clamped to 3" in caplog.text
    codes = model.encode(points)
    assert len(np.unique(codes[:, 0])) == 3


def test_rq_vae_leaves_global_torch_state_alone():
    points = clustered_points()
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state()
    model = RQVAEQuantizer(num_digits=2, codebook_size=4, show_progress=False, **TINY_VAE).fit(points)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    assert model.config()["final_loss"] is not None and model.config()["reset_every"] == 5


def test_quantizer_errors():
    with pytest.raises(ValueError, match="unknown quantizer 'vq'"):
        make_quantizer("vq")
    with pytest.raises(ValueError, match="num_digits must be >= 1, got 0"):
        RQKMeansQuantizer(num_digits=0)
    with pytest.raises(ValueError, match="codebook_size must be >= 1, got 0"):
        OPQQuantizer(codebook_size=0)
    with pytest.raises(RuntimeError, match="rq-kmeans: call fit"):
        RQKMeansQuantizer().encode(np.zeros((2, 2)))
    bad = clustered_points()
    bad[5, 1] = np.inf
    with pytest.raises(ValueError, match="rq-kmeans: embeddings are not finite at item index 5"):
        RQKMeansQuantizer(codebook_size=2).fit(bad)
    with pytest.raises(ValueError, match=r"must be a non-empty \[num_items, dim\] matrix, got \(3,\)"):
        RQKMeansQuantizer(codebook_size=2).fit(np.zeros(3))


# ---------------------------------------------------------------------------------------------- collisions


def hand_distances(table):
    """digit_distances callback from ``{item: [[digit-0 distances], [digit-1 distances]]}``."""
    return lambda rows: np.array([table[int(row)] for row in rows], dtype=np.float32)


def test_reassign_moves_the_worse_item_to_the_nearest_free_last_digit():
    categories = np.array([[0], [0], [0], [1]])
    sid = np.array([[0, 0], [0, 0], [0, 1], [0, 0]])
    errors = np.array([0.1, 0.5, 0.0, 0.0])
    distances = hand_distances({1: [[0.0, 1.0, 2.0], [0.0, 0.2, 0.3]]})
    codes, report = resolve_collisions(categories, sid, 3, "reassign", errors, distances, show_progress=False)
    # Item 1 (larger error) moves; last digits 0 and 1 are taken under prefix (cat 0, digit 0), so 2.
    assert codes.tolist() == [[0, 0], [0, 2], [0, 1], [0, 0]]
    assert report == {"strategy": "reassign", "num_moved": 1, "freed_digits": {"1": 1}}


def test_reassign_frees_an_earlier_digit_when_the_prefix_is_full():
    categories = np.zeros((4, 1), dtype=np.int64)
    sid = np.array([[0, 0], [0, 0], [0, 1], [0, 0]])
    errors = np.array([0.0, 0.3, 0.0, 0.2])
    # Items 3 then 1 move (by error). With V=2 both last digits under (0, *) are taken, so digit 0 is
    # freed: item 3 takes (1, 0) (cost 0.5), item 1 the next cheapest free code (1, 1) (cost 0.6).
    distances = hand_distances({1: [[0.0, 0.5], [0.0, 0.1]], 3: [[0.0, 0.5], [0.0, 0.1]]})
    codes, report = resolve_collisions(categories, sid, 2, "reassign", errors, distances, show_progress=False)
    assert codes.tolist() == [[0, 0], [1, 1], [0, 1], [1, 0]]
    assert report["freed_digits"] == {"2": 2} and report["num_moved"] == 2


def test_reassign_raises_when_a_category_path_is_full():
    sid = np.zeros((3, 1), dtype=np.int64)
    distances = hand_distances({1: [[0.0, 1.0]], 2: [[0.0, 1.0]]})
    with pytest.raises(
        ValueError, match=r"item index 2: its category path \[4\] holds more items than the 2\*\*1"
    ):
        resolve_collisions(np.full((3, 1), 4), sid, 2, "reassign", None, distances, show_progress=False)


def test_extra_digit_numbers_each_group_by_error():
    sid = np.array([[1, 1], [1, 1], [0, 0], [1, 1]])
    errors = np.array([0.9, 0.1, 0.0, 0.5])
    codes, report = resolve_collisions(np.zeros((4, 0)), sid, 2, "extra_digit", errors, show_progress=False)
    assert codes.tolist() == [[1, 1, 2], [1, 1, 0], [0, 0, 0], [1, 1, 1]]
    assert report == {"strategy": "extra_digit", "num_moved": 2, "extra_digit_size": 3}


def test_resolution_errors():
    sid = np.zeros((2, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="unknown collision strategy 'drop'"):
        resolve_collisions(np.zeros((2, 0)), sid, 2, "drop")
    with pytest.raises(ValueError, match="'reassign' needs digit_distances"):
        resolve_collisions(np.zeros((2, 0)), sid, 2, "reassign")


@pytest.mark.parametrize("name", ["rq-kmeans", "opq"])
def test_duplicated_embeddings_become_one_to_one(name):
    points = np.repeat(clustered_points()[::3], 3, axis=0)  # 16 vectors three times each: [48, 6]
    model = make_quantizer(name, num_digits=3, codebook_size=4, show_progress=False).fit(points)
    sid = model.encode(points)
    codes, report = resolve_collisions(
        np.zeros((len(points), 0)),
        sid,
        model.codebook_size,
        "reassign",
        model.reconstruction_error(points, sid),
        lambda index: model.digit_distances(points[index], sid[index]),
        show_progress=False,
    )
    assert (sid[0::3] == sid[1::3]).all()  # identical vectors collide before resolution
    assert len(np.unique(codes, axis=0)) == len(points)
    assert report["num_moved"] >= 2 * 16  # at least two of every three copies move
