"""build_item_codes end to end, item-file loading and the build_item_codes.py script."""

import json

import numpy as np
import pytest
from script_support import load_script

from mindrec.tokenization.build_codes import build_item_codes, load_items_file
from mindrec.tokenization.code_table import ItemCodeTable

BRANDS = ["OPI", "Essie", "Moroccan", "Glow"]
PATHS = [
    ["Beauty", "Makeup", "Nails"],
    ["Beauty", "Makeup", "Nails"],
    ["Beauty", "Hair", "Shampoo"],
    ["Beauty", "Hair"],
]


def catalogue(num_items: int = 24) -> list[dict]:
    """Tiny item table: four product families, six variants each."""
    items = []
    for index in range(num_items):
        family = index % 4
        items.append(
            {
                "item_id": index + 100,
                "title": f"{BRANDS[family]} product {['lacquer', 'polish', 'shampoo', 'mask'][family]} shade {index // 4}",
                "brand": BRANDS[family],
                "categories": PATHS[family],
                "description": "",
            }
        )
    return items


def small_build(items, **kwargs):
    options = {"num_sid_digits": 2, "codebook_size": 4, "show_progress": False}
    options.update(kwargs)
    return build_item_codes(items, **options)


def test_build_is_one_to_one_with_exact_stats():
    items = catalogue()
    table = small_build(items, num_category_levels=2)
    assert table.item_ids == [str(index + 100) for index in range(24)]
    # Level 1: Hair, Makeup; level 2: Hair -> {Shampoo, OTHER}, Makeup -> {Nails}.
    assert table.code_slot_sizes == [2, 2, 4, 4]
    assert len(np.unique(table.codes, axis=0)) == 24 == table.stats["distinct_codes"]
    assert table.category_names(0) == ["Makeup", "Nails"] and table.category_names(3) == ["Hair", "[other]"]
    stats = table.stats
    assert stats["category_nodes_per_level"] == [2, 2] and stats["category_nodes_per_level_padded"] == [2, 3]
    assert 0 <= stats["collision_rate_before"] <= stats["sid_collision_rate_before"] <= 1
    assert len(stats["codebook_usage"]) == 2 and len(stats["entropy_bits"]) == 2
    assert all(0 < bits <= 2 for bits in stats["entropy_bits"])
    assert set(stats["seconds"]) == {"category_tree", "embedding", "quantizer", "collisions", "total"}
    assert (
        table.method["quantizer"]["name"] == "rq-kmeans" and table.method["embedding"]["name"] == "tfidf-svd"
    )
    assert table.method["category"] == {"num_levels": 2, "drop_root": True}


def test_same_seed_same_codes():
    items = catalogue()
    first = small_build(items, num_category_levels=1, seed=5)
    second = small_build(items, num_category_levels=1, seed=5)
    np.testing.assert_array_equal(first.codes, second.codes)


def test_duplicated_embeddings_are_resolved_both_ways():
    items = catalogue(16)
    vectors = np.repeat(
        np.random.default_rng(0).normal(size=(4, 8)), 4, axis=0
    )  # 4 distinct rows, 4 copies each
    reassigned = small_build(items, num_category_levels=0, embedding=vectors, codebook_size=8)
    assert reassigned.code_slot_sizes == [4, 4]  # clamped to the 4 distinct rows
    assert reassigned.stats["collision_rate_before"] == 1.0
    assert reassigned.stats["items_moved"] == 12 and reassigned.stats["distinct_codes"] == 16
    extra = small_build(items, num_category_levels=0, embedding=vectors, collision="extra_digit")
    assert extra.code_slot_sizes == [4, 4, 4] and extra.num_sid_digits == 3
    # Copies have equal errors, so each group is numbered in item order.
    assert extra.codes[:, 2].tolist() == [0, 1, 2, 3] * 4
    assert extra.stats["distinct_codes"] == 16


@pytest.mark.parametrize("quantizer", ["rq-vae", "opq", "pq"])
def test_other_quantizers_build(quantizer):
    extra = (
        {"hidden_sizes": (8,), "latent_dim": 4, "steps": 10, "batch_size": 16}
        if quantizer == "rq-vae"
        else {}
    )
    table = small_build(catalogue(), num_category_levels=1, quantizer=quantizer, quantizer_kwargs=extra)
    assert table.stats["distinct_codes"] == 24 and table.method["quantizer"]["name"] == quantizer


@pytest.mark.parametrize(
    ("items", "options", "error", "message"),
    [
        ([], {}, ValueError, "the item table is empty"),
        ([{"title": "x"}], {}, ValueError, "item row 0 has no item_id"),
        ([{"item_id": 1}, {"item_id": "1"}], {}, ValueError, r"item_id '1' occurs twice \(rows 0 and 1\)"),
        (
            [{"item_id": 1, "title": "a"}, {"item_id": 2, "title": "b"}],
            {},
            ValueError,
            "no item has 'categories'",
        ),
        (catalogue(4), {"quantizer": "vq"}, ValueError, "unknown quantizer 'vq'"),
        (catalogue(4), {"collision": "drop"}, ValueError, "unknown collision strategy 'drop'"),
    ],
)
def test_build_errors(items, options, error, message):
    with pytest.raises(error, match=message):
        small_build(items, **options)


def test_load_items_file_formats(tmp_path):
    items = catalogue(3)
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(item) for item in items) + "\n\n")
    (tmp_path / "items.json").write_text(json.dumps(items))
    assert load_items_file(tmp_path / "items.jsonl") == items
    assert load_items_file(tmp_path / "items.json") == items
    assert load_items_file(tmp_path) == items


@pytest.mark.parametrize(
    ("name", "text", "error", "message"),
    [
        ("items.jsonl", '{"item_id": 1}\n{oops\n', ValueError, r"items.jsonl:2: not valid JSON"),
        (
            "items.jsonl",
            '{"item_id": 1}\n[1]\n',
            ValueError,
            r"items.jsonl: line 2 is list, expected an item object",
        ),
        (
            "items.json",
            '{"item_id": 1}',
            ValueError,
            r"items.json: expected a JSON list of item objects, got dict",
        ),
        ("items.json", "[1, 2]", ValueError, r"items.json: entry 0 is int"),
        ("items.json", "[", ValueError, r"items.json: not valid JSON"),
    ],
)
def test_load_items_file_errors(tmp_path, name, text, error, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(error, match=message):
        load_items_file(tmp_path / name)


def test_load_items_file_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"item file .*items.jsonl does not exist"):
        load_items_file(tmp_path)


def test_script_writes_a_loadable_table_and_stats(tmp_path, capsys):
    script = load_script("build_item_codes")
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(item) for item in catalogue()))
    script.main(
        [
            "--items", str(tmp_path / "items.jsonl"),
            "--output", str(tmp_path / "out" / "item_codes.json"),
            "--num-category-levels", "2",
            "--num-sid-digits", "2",
            "--codebook-size", "4",
            "--stats-json", str(tmp_path / "stats.json"),
            "--no-progress",
        ]
    )  # fmt: skip
    table = ItemCodeTable.load(tmp_path / "out" / "item_codes.json")
    assert table.code_slot_sizes == [2, 2, 4, 4] and table.num_items == 24
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["stats"] == table.stats and stats["method"] == table.method
    assert '"distinct_codes": 24' in capsys.readouterr().out


def test_prepared_folder_and_dataset_input(tmp_path):
    from mindrec.data import make_synthetic_dataset

    data = make_synthetic_dataset(num_users=20, num_items=30, seed=1)
    data.save_to_disk(tmp_path / "prepared")
    rows = load_items_file(tmp_path / "prepared")
    assert rows == list(data.items) and len(rows) == 30
    # A datasets.Dataset is accepted as it is; its shared root "Synthetic Store" is dropped.
    table = small_build(data.items, num_category_levels=2)
    assert table.item_ids == data.items["item_id"] and table.stats["distinct_codes"] == 30
    assert table.category_names(0) == data.items[0]["categories"][1:3]
