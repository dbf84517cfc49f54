"""Facts about the real Amazon Beauty 2014 benchmark (runs only where ../shared/data is present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindrec.data import detect_format, load_dataset_from_path
from mindrec.data.loaders import read_item_file

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BEAUTY = DATA / "amazon_beauty_2014"

pytestmark = pytest.mark.skipif(not BEAUTY.exists(), reason=f"{BEAUTY} not available")


def test_full_beauty_counts():
    assert detect_format(BEAUTY) == "amazon-beauty"
    data = load_dataset_from_path(BEAUTY)
    assert data.statistics() == {
        "users": 22363,
        "items": 12101,
        "interactions": 198502,
        "train_rows": 131413,
        "validation_rows": 22363,
        "test_rows": 22363,
    }
    assert data.items[0]["categories"] == ["Beauty", "Makeup", "Nails", "Nail Polish"]
    # User 2 is "6 7 8 9 10 4 11": item ids are 1-based, item indices 0-based.
    assert data.splits["test"][1] == {"user_id": "2", "history": [5, 6, 7, 8, 9, 3], "target": 10}


def test_mindrec_protocol_first_5000_users():
    data = load_dataset_from_path(BEAUTY, max_users=5000, max_history=10)
    stats = data.statistics()
    assert (stats["users"], stats["items"], stats["train_rows"]) == (5000, 12101, 39509)
    assert max(len(h) for h in data.splits["test"]["history"]) == 10


def test_recbole_item_file_matches_items_jsonl():
    catalogue = read_item_file(BEAUTY / "original" / "Amazon_Beauty.item")
    assert len(catalogue) == 12101
    by_asin = {}
    with open(BEAUTY / "items.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            by_asin[record["asin"]] = record
    assert set(catalogue.item_ids) == set(by_asin)
    for record in catalogue.records[:200]:
        assert list(record.categories) == by_asin[record.item_id]["categories"], record.item_id
    assert catalogue.records[2].categories == ("Beauty", "Fragrance", "Women's", "Eau de Parfum")
