"""Item text and content embeddings: tfidf-svd, sentence-transformers wiring, precomputed matrices."""

import logging
import sys
import types

import numpy as np
import pytest
from optional_extras import needs_sentence_transformers

from mindrec.tokenization.text_embeddings import embed_items, item_text

ITEMS = [
    {"item_id": "1", "title": "OPI Nail Lacquer Red", "brand": "OPI", "categories": ["Beauty", "Nails"]},
    {"item_id": "2", "title": "OPI Nail Lacquer Blue", "brand": "OPI", "categories": ["Beauty", "Nails"]},
    {"item_id": "3", "title": "Argan Oil Shampoo", "brand": "Moroccan", "categories": ["Beauty", "Hair"]},
    {"item_id": "4", "title": "Argan Oil Conditioner", "brand": "Moroccan", "categories": ["Beauty", "Hair"]},
    {"item_id": "5", "title": "Vitamin C Face Serum", "brand": "Glow", "categories": ["Beauty", "Skin"]},
    {"item_id": "6", "title": "Retinol Face Cream", "brand": "Glow", "categories": ["Beauty", "Skin"]},
]


def test_item_text_format():
    item = {
        "title": "Red &amp; Blue  Polish.",
        "brand": "OPI",
        "categories": ["Beauty", "Makeup", "Nails"],
        "description": None,
    }
    assert item_text(item) == "Title: Red & Blue Polish. Brand: OPI. Category: Beauty > Makeup > Nails"
    assert item_text({"title": "", "description": "Soft."}) == "Description: Soft"


def test_tfidf_svd_is_normalised_deterministic_and_clamped(caplog):
    with caplog.at_level(logging.WARNING):
        first = embed_items(ITEMS, dim=64, seed=3)
    assert "dim 64 clamped to 5" in caplog.text
    second = embed_items(ITEMS, dim=64, seed=3)
    assert first.vectors.shape == (6, 5) and first.vectors.dtype == np.float32
    np.testing.assert_array_equal(first.vectors, second.vectors)
    np.testing.assert_allclose(np.linalg.norm(first.vectors, axis=1), 1.0, rtol=1e-5)
    assert first.method["name"] == "tfidf-svd" and first.method["dim"] == 5 and first.method["seed"] == 3
    similarity = first.vectors @ first.vectors.T
    # Each item's nearest other item is its sibling (same brand and category).
    np.fill_diagonal(similarity, -np.inf)
    assert similarity.argmax(1).tolist() == [1, 0, 3, 2, 5, 4]


def test_tfidf_svd_errors():
    with pytest.raises(ValueError, match="tfidf-svd needs at least 2 items, got 1"):
        embed_items(ITEMS[:1])
    with pytest.raises(ValueError, match="the item texts have no terms"):
        embed_items([{"title": ""}, {"title": None}])
    with pytest.raises(ValueError, match="embedding dim must be >= 1, got 0"):
        embed_items(ITEMS, dim=0)


def test_precomputed_array_and_npy(tmp_path):
    matrix = np.arange(12, dtype=np.float64).reshape(6, 2)
    result = embed_items(ITEMS, matrix)
    assert result.method == {"name": "precomputed", "source": "array", "dim": 2}
    np.testing.assert_array_equal(result.vectors, matrix.astype(np.float32))
    np.save(tmp_path / "emb.npy", matrix)
    from_file = embed_items(ITEMS, str(tmp_path / "emb.npy"))
    assert from_file.method["source"] == str(tmp_path / "emb.npy")
    np.testing.assert_array_equal(from_file.vectors, result.vectors)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.zeros((5, 3)), r"array have shape \(5, 3\), expected \[6, dim\]"),
        (np.zeros(6), r"array have shape \(6,\), expected \[6, dim\]"),
        (np.array([[0.0], [1.0], [np.nan], [0.0], [0.0], [0.0]]), r"not finite at item index 2"),
        (np.array([["a"]] * 6), r"dtype <U1, expected numbers"),
    ],
)
def test_precomputed_shape_and_value_errors(matrix, message):
    with pytest.raises(ValueError, match=message):
        embed_items(ITEMS, matrix)


def test_method_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npy does not exist"):
        embed_items(ITEMS, str(tmp_path / "nope.npy"))
    with pytest.raises(ValueError, match="unknown embedding 'bert'"):
        embed_items(ITEMS, "bert")
    with pytest.raises(ValueError, match="needs model="):
        embed_items(ITEMS, "sentence-transformers")


@pytest.mark.slow
@needs_sentence_transformers
def test_sentence_transformers_missing_model_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # local_files_only follows it (tests never download)
    missing = str(tmp_path / "no-such-encoder")
    with pytest.raises(
        OSError,
        match=r"could not load sentence-transformers model '.*no-such-encoder' with HF_HUB_OFFLINE set",
    ):
        embed_items(ITEMS, "sentence-transformers", model=missing)


def test_sentence_transformers_absent_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # what an install without the extra sees
    with pytest.raises(ImportError, match=r"needs the `embeddings` extra: pip install -e '\.\[embeddings\]'"):
        embed_items(ITEMS, "sentence-transformers", model="any")


def test_sentence_transformers_wiring(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    calls = {}

    class FakeEncoder:
        def __init__(self, name, device=None, local_files_only=False):
            calls["init"] = (name, device, local_files_only)

        def encode(self, texts, batch_size, normalize_embeddings, show_progress_bar, convert_to_numpy):
            calls["encode"] = (list(texts), batch_size, normalize_embeddings)
            return np.ones((len(texts), 3), dtype=np.float64)

    monkeypatch.setitem(
        sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=FakeEncoder)
    )
    result = embed_items(
        ITEMS[:2], "sentence-transformers", model="local/enc", batch_size=7, show_progress=False
    )
    assert calls["init"] == ("local/enc", None, True)
    assert calls["encode"] == ([item_text(ITEMS[0]), item_text(ITEMS[1])], 7, True)
    assert result.method == {"name": "sentence-transformers", "model": "local/enc", "dim": 3}
    assert result.vectors.dtype == np.float32 and result.vectors.shape == (2, 3)
