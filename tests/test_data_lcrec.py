"""LC-Rec / LETTER / MindRec JSON: .inter.json, .item.json, .index.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mindrec.data import (
    DataFormatError,
    detect_format,
    load_dataset_from_path,
    load_lcrec_json,
    parse_sid_index,
)

INTER = {"0": [0, 1, 2, 3], "1": [2, 3, 4], "2": [1, 4]}
ITEMS = {
    "0": {
        "title": "Zero",
        "brand": "B0",
        "categories": "Toys &amp; Games,Puzzles, Jigsaw,Floor",
        "description": "d0",
    },
    "1": {"title": "One", "description": ["Para 1.", "Para 2."], "categories": ["Toys & Games", "Dolls"]},
    "2": {"title": "Two", "brand": "B2", "categories": ""},
    "3": {"title": "Three"},
    "4": {"title": "Four", "categories": "Toys & Games"},
    "5": {"title": "Never used", "categories": "Toys & Games,Other"},
}
INDEX = {
    "0": ["<a_1>", "<b_2>", "<c_3>"],
    "1": ["<a_1>", "<b_2>", "<c_4>"],
    "2": ["<a_0>", "<b_0>", "<c_0>"],
    "3": ["<a_7>", "<b_5>", "<c_0>"],
    "4": ["<a_7>", "<b_5>", "<c_1>"],
    "5": ["<a_255>", "<b_0>", "<c_9>"],
}


def write_files(folder, inter=INTER, items=ITEMS, index=INDEX, name="Toys"):
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, content in ((".inter.json", inter), (".item.json", items), (".index.json", index)):
        if content is None:
            continue
        text = content if isinstance(content, str) else json.dumps(content, indent=1)
        (folder / f"{name}{suffix}").write_text(text)
    return folder


def rows(dataset):
    return list(zip(dataset["user_id"], dataset["history"], dataset["target"], strict=True))


def test_load_items_splits_and_codes(tmp_path):
    folder = write_files(tmp_path / "Toys")
    assert detect_format(folder) == "lcrec-json"
    data = load_dataset_from_path(folder)
    assert data.name == "Toys"
    assert data.item_ids == ["0", "1", "2", "3", "4", "5"]
    assert rows(data.splits["train"]) == [("0", [0], 1)]
    assert rows(data.splits["test"]) == [("0", [0, 1, 2], 3), ("1", [2, 3], 4)]
    assert data.items[0]["categories"] == ["Toys & Games", "Puzzles, Jigsaw", "Floor"]
    assert data.items[1]["description"] == "Para 1. Para 2."
    assert data.items[1]["brand"] == ""
    assert data.items[2]["categories"] == []
    assert data.items[3]["categories"] == []
    np.testing.assert_array_equal(
        data.sid_codes, [[1, 2, 3], [1, 2, 4], [0, 0, 0], [7, 5, 0], [7, 5, 1], [255, 0, 9]]
    )
    assert data.sid_codes.dtype == np.int64


def test_options_and_index_override(tmp_path):
    folder = write_files(tmp_path / "Toys", index=None)
    (tmp_path / "other.json").write_text(json.dumps(INDEX))
    assert load_lcrec_json(folder).sid_codes is None
    data = load_dataset_from_path(
        folder / "Toys.inter.json", max_users=1, keep_unused_items=False, index_path=tmp_path / "other.json"
    )
    assert data.item_ids == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(data.sid_codes, [[1, 2, 3], [1, 2, 4], [0, 0, 0], [7, 5, 0]])
    with pytest.raises(FileNotFoundError, match="SID index file not found: .*missing.json"):
        load_lcrec_json(folder, index_path=tmp_path / "missing.json")


def test_without_item_file(tmp_path):
    folder = write_files(
        tmp_path / "Toys", inter={"a": ["x", "y", "x"], "b": [3, "x", 4]}, items=None, index=None
    )
    data = load_lcrec_json(folder / "Toys").to_prepared()
    assert data.item_ids == ["x", "y", "3", "4"]
    assert rows(data.splits["test"]) == [("a", [0, 1], 0), ("b", [2, 0], 3)]


@pytest.mark.parametrize(
    ("inter", "message"),
    [
        ('{"0": [0, 1,\n "1": }', r"Toys\.inter\.json, line 2: invalid JSON"),
        ({"0": [0, 1, 9]}, r"Toys\.inter\.json: user '0': unknown item id '9' \(not in .*Toys\.item\.json\)"),
        (
            {"0": [0, 1.5, 2]},
            r"Toys\.inter\.json: user '0': item ids must be non-empty strings or integers, got 1\.5",
        ),
        ({"0": []}, r"Toys\.inter\.json: user '0': expected a non-empty list of item ids"),
        ('{"0": [0, 1, 2], "0": [1, 2, 3]}', r"Toys\.inter\.json: duplicate key '0' in a JSON object"),
        ("[1, 2]", r"Toys\.inter\.json: expected a non-empty JSON object"),
        ("  ", r"Toys\.inter\.json: the file is empty"),
    ],
)
def test_interaction_file_errors(tmp_path, inter, message):
    folder = write_files(tmp_path / "Toys", inter=inter, index=None)
    with pytest.raises(DataFormatError, match=message):
        load_lcrec_json(folder)


def test_item_file_errors(tmp_path):
    duplicate = '{"0": {"title": "a"},\n "1": {"title": "b"},\n "1": {"title": "c"}}'
    folder = write_files(tmp_path / "Toys", items=duplicate, index=None)
    with pytest.raises(DataFormatError, match=r"Toys\.item\.json: duplicate key '1' in a JSON object"):
        load_lcrec_json(folder)
    folder = write_files(tmp_path / "Toys", items={"0": "not a dict"}, index=None)
    with pytest.raises(
        DataFormatError, match=r"Toys\.item\.json: item '0': expected a JSON object of features, got str"
    ):
        load_lcrec_json(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"3": None}, r"item '3' has no SID code"),
        ({"1": ["<a_1>", "<b_2>"]}, r"item '1' has 2 SID tokens but item '0' has 3"),
        ({"2": ["<a_1>", "<b_2>", "<c_3>"]}, r"items '0' and '2' share the SID code"),
        ({"2": ["<a-1>", "<b_2>", "<c_3>"]}, r"item '2': token '<a-1>' is not of the form <a_12>"),
        ({"2": ["<a_1>", "<c_2>", "<b_3>"]}, r"item '2': token '<c_2>' at position 1 should start with <b_"),
        ({"2": []}, r"item '2': expected a non-empty list of tokens"),
        ({"9": ["<a_1>", "<b_1>", "<c_1>"]}, r"item '9' is not in the item table"),
    ],
)
def test_index_errors(tmp_path, change, message):
    index = {**INDEX, **change}
    index = {key: value for key, value in index.items() if value is not None}
    folder = write_files(tmp_path / "Toys", index=index)
    with pytest.raises(DataFormatError, match=r"Toys\.index\.json: " + message):
        load_lcrec_json(folder)


def test_parse_sid_index_directly():
    codes = parse_sid_index({"b": ["<a_3>", "<b_4>"], "a": ["<a_1>", "<b_2>"]}, ["a", "b"], "idx")
    np.testing.assert_array_equal(codes, [[1, 2], [3, 4]])
    with pytest.raises(DataFormatError, match="idx: expected a JSON object"):
        parse_sid_index(["<a_1>"], ["a"], "idx")
