"""The amazon_beauty_2014 layout: sequences.txt + items.jsonl."""

from __future__ import annotations

import json

import pytest

from mindrec.data import DataFormatError, detect_format, load_amazon_beauty, load_dataset_from_path

SEQUENCES = "1 1 2 3 4 5\n2 6 7 8 4 9\n3 2 3\n\n"


def write_layout(folder, sequences=SEQUENCES, items=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sequences.txt").write_text(sequences)
    if items is None:
        items = [
            {"item_id": i, "title": f"Item &amp; {i}", "brand": "B", "categories": ["Beauty", f"C{i % 3}"]}
            for i in range(1, 11)
        ]
        items[0]["categories"] = "Arts, Crafts &amp; Sewing,Painting"
        items[1]["description"] = ["Line one.", "Line two."]
    if items is not False:
        (folder / "items.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))
    return folder


def rows(dataset):
    return list(zip(dataset["user_id"], dataset["history"], dataset["target"], strict=True))


def test_load_counts_rows_and_item_table(tmp_path):
    folder = write_layout(tmp_path / "beauty")
    assert detect_format(folder) == "amazon-beauty"
    assert detect_format(folder / "sequences.txt") == "amazon-beauty"
    data = load_dataset_from_path(folder)
    assert data.name == "beauty"
    # User 3 has two items and is skipped; item 10 is unused but stays in the catalogue.
    assert data.statistics() == {
        "users": 2,
        "items": 10,
        "interactions": 10,
        "train_rows": 4,
        "validation_rows": 2,
        "test_rows": 2,
    }
    assert data.item_ids == [str(i) for i in range(1, 11)]
    assert rows(data.splits["train"]) == [
        ("1", [0], 1),
        ("1", [0, 1], 2),
        ("2", [5], 6),
        ("2", [5, 6], 7),
    ]
    assert rows(data.splits["validation"]) == [("1", [0, 1, 2], 3), ("2", [5, 6, 7], 3)]
    assert rows(data.splits["test"]) == [("1", [0, 1, 2, 3], 4), ("2", [5, 6, 7, 3], 8)]
    assert data.items[0] == {
        "item_id": "1",
        "title": "Item & 1",
        "brand": "B",
        "categories": ["Arts, Crafts & Sewing", "Painting"],
        "description": "",
    }
    assert data.items[1]["description"] == "Line one. Line two."
    assert data.items[2]["categories"] == ["Beauty", "C0"]


def test_options_max_users_max_history_and_unused_items(tmp_path):
    folder = write_layout(tmp_path / "beauty")
    data = load_dataset_from_path(folder, max_users=1, max_history=2, keep_unused_items=False)
    assert data.item_ids == ["1", "2", "3", "4", "5"]
    assert rows(data.splits["test"]) == [("1", [2, 3], 4)]
    assert rows(data.splits["train"]) == [("1", [0], 1), ("1", [0, 1], 2)]


def test_without_items_file_ids_in_order_of_first_appearance(tmp_path):
    folder = write_layout(tmp_path / "seq_only", sequences="7 30 10 20\n8 10 40 30\n", items=False)
    data = load_amazon_beauty(folder / "sequences.txt").to_prepared()
    assert data.item_ids == ["30", "10", "20", "40"]
    assert data.items[0] == {"item_id": "30", "title": "", "brand": "", "categories": [], "description": ""}
    assert rows(data.splits["test"]) == [("7", [0, 1], 2), ("8", [1, 3], 0)]


@pytest.mark.parametrize(
    ("sequences", "message"),
    [
        ("1 1 2 3\n2 4 99 1\n", r"sequences\.txt, line 2: unknown item id '99' \(not in .*items\.jsonl\)"),
        ("1 1 2 x\n", r"sequences\.txt, line 1: item id must be an integer, got 'x'"),
        ("u1 1 2 3\n", r"sequences\.txt, line 1: user id must be an integer, got 'u1'"),
        ("1 1 2 3\n\n2\n", r"sequences\.txt, line 3: user 2 has no items"),
        ("1 1 2 3\n1 4 5 6\n", r"sequences\.txt, line 2: user 1 already appears on line 1"),
        ("\n  \n", r"sequences\.txt: the file is empty"),
    ],
)
def test_sequence_file_errors(tmp_path, sequences, message):
    folder = write_layout(tmp_path / "beauty", sequences=sequences)
    with pytest.raises(DataFormatError, match=message):
        load_amazon_beauty(folder)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"item_id": 1}', '{"item_id": 2'], r"items\.jsonl, line 2: invalid JSON"),
        (['{"title": "no id"}'], r"items\.jsonl, line 1: missing field 'item_id'"),
        (['{"item_id": "abc"}'], r"items\.jsonl, line 1: item_id must be an integer, got 'abc'"),
        (['{"item_id": 1}', "[1, 2]"], r"items\.jsonl, line 2: expected a JSON object, got list"),
        (
            ['{"item_id": 1}', '{"item_id": "1"}'],
            r"items\.jsonl, line 2: duplicate item id '1' \(already defined at .*items\.jsonl, line 1\)",
        ),
        (['{"item_id": 1, "categories": 5}'], r"items\.jsonl, line 1: categories must be a string or a list"),
        ([""], r"items\.jsonl: the file is empty"),
    ],
)
def test_item_file_errors(tmp_path, lines, message):
    folder = tmp_path / "beauty"
    write_layout(folder, sequences="1 1 1 1\n", items=False)
    (folder / "items.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=message):
        load_amazon_beauty(folder)


def test_missing_sequences_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="sequence file not found"):
        load_amazon_beauty(tmp_path)
