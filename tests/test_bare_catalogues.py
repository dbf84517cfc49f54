"""Catalogues with less than the shipped configs ask for (MovieLens-like data: no categories, no brands, or no item
table at all): the codes are built from what there is, with a warning saying what was left out (the model: test_brand_embeddings.py)."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mindrec.data import PreparedData
from mindrec.tokenization.build_codes import build_item_codes
from mindrec.tokenization.collaborative import cooccurrence_item_vectors, unit_rows
from mindrec.training.arguments import CodeArguments
from mindrec.training.data_setup import item_content_vectors, load_or_build_code_table

NUM_USERS, NUM_ITEMS, LENGTH = 30, 24, 6


def interactions() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (f"u{user}", f"i{item}", step)
        for user in range(NUM_USERS)
        for step, item in enumerate(rng.choice(NUM_ITEMS, size=LENGTH, replace=False))
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


@pytest.fixture(scope="module")
def titled():
    """Items with a title and nothing else."""
    items = pd.DataFrame({"item_id": [f"i{item}" for item in range(NUM_ITEMS)],
                          "title": [f"film number {item} part {item % 5}" for item in range(NUM_ITEMS)]})  # fmt: skip
    return PreparedData.from_interactions(interactions(), items)


@pytest.fixture(scope="module")
def bare():
    """Interactions alone: the items are bare ids."""
    return PreparedData.from_interactions(interactions())


CODES = CodeArguments(num_category_levels=3, num_sid_digits=2, codebook_size=8, collaborative_weight=0.5, collaborative_dim=4)


def test_no_categories_gives_semantic_ids_alone(titled, caplog):
    with caplog.at_level(logging.WARNING, logger="mindrec.training.data_setup"):
        table = load_or_build_code_table(titled, CODES, show_progress=False)
    assert "num_category_levels=3, but no item has categories" in caplog.text
    assert table["num_category_levels"] == 0 and len(table["code_slot_sizes"]) == 2
    as_asked = load_or_build_code_table(titled, replace(CODES, num_category_levels=0), show_progress=False)
    assert table["codes"] == as_asked["codes"]
    # The library's builder, asked for category slots outright, still refuses: only the main job's setup adapts.
    with pytest.raises(ValueError, match="no item has 'categories'; pass num_category_levels=0"):
        build_item_codes(list(titled.items), num_category_levels=3, num_sid_digits=2, codebook_size=8, show_progress=False)


def test_no_text_quantises_the_cooccurrence_vectors_alone(bare, caplog):
    with caplog.at_level(logging.WARNING, logger="mindrec.training.data_setup"):
        vectors = item_content_vectors(bare, CODES, show_progress=False)
    assert "No item has a title, brand, categories or description" in caplog.text
    train = bare.splits["train"]
    expected = unit_rows(cooccurrence_item_vectors(train["history"], train["target"], NUM_ITEMS, dim=4, seed=CODES.code_seed))
    np.testing.assert_array_equal(vectors, expected.astype(np.float32))
    assert vectors.dtype == np.float32
    table = load_or_build_code_table(bare, CODES, show_progress=False)
    given = load_or_build_code_table(bare, CODES, show_progress=False, item_vectors=vectors)
    assert table["codes"] == given["codes"] and len(set(map(tuple, table["codes"]))) == NUM_ITEMS
    # Without co-occurrence vectors there is nothing to quantise: the text embedding says so.
    with pytest.raises(ValueError, match="the item texts have no terms"):
        load_or_build_code_table(bare, replace(CODES, collaborative_weight=0.0), show_progress=False)
