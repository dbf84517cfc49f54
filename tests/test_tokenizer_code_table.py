"""item_codes.json: validation on load (each error names the file and the item at fault), write/read."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizer_support import THREE_ITEM_TABLE, make_table

from mindrec.tokenization.category_tree import CategoryTree
from mindrec.tokenization.code_table import ItemCodeTable
from mindrec.tokenization.tokenization_mindrec import (
    MindRecTokenizer,
    read_item_codes,
    validate_item_codes,
    write_item_codes,
)


def write_raw(path, table) -> str:
    path.write_text(json.dumps(table), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"codes": [[0, 0, 1], [0, 2, 0], [0, 0, 1]]},
            r"items 'apple' \(row 0\) and 'cherry' \(row 2\) share the code \[0, 0, 1\]; codes must be one-to-one",
        ),
        (
            {"codes": [[0, 0, 1], [0, 3, 0], [1, 1, 1]]},
            r"item 'banana' \(row 1\): code slot 1 value 3 is outside 0..2 \(code_slot_sizes\[1\] = 3\)",
        ),
        (
            {"codes": [[0, 0, 1], [0, 2, 0], [1, 1, -1]]},
            r"item 'cherry' \(row 2\): code slot 2 value -1 is outside 0..1",
        ),
        (
            {"codes": [[0, 0, 1], [0, 2], [1, 1, 1]]},
            r"item 'banana' \(row 1\) has a code of length 2, expected 3 "
            r"\(num_category_levels 1 \+ num_sid_digits 2\)",
        ),
        ({"codes": [[0, 0, 1], [0, 2, 0]]}, "codes must hold one code per item: 2 codes for 3 item_ids"),
        (
            {"codes": [[0, 0, 1], [0, 2.0, 0], [1, 1, 1]]},
            r"item 'banana' \(row 1\): code slot 1 must be an integer",
        ),
        ({"item_ids": ["apple", "banana", "apple"]}, r"item id 'apple' appears twice \(rows 0 and 2\)"),
        ({"item_ids": ["apple", 7, "cherry"]}, r"item_ids\[1\] must be a string, got 7"),
        ({"code_slot_sizes": [2, 3]}, r"code_slot_sizes must list 3 sizes .* got \[2, 3\]"),
        ({"code_slot_sizes": [2, 0, 2]}, "every code slot needs at least one value"),
        ({"format_version": 2}, r"unsupported format_version 2 \(this tokenizer reads 1\)"),
        ({"num_sid_digits": True}, "num_sid_digits must be an integer, got True"),
        (
            {"category_tree": {"name": "Food", "children": [{"name": "Fruit"}]}},
            r"item 'cherry' \(row 2\): category slot 0 value 1 has no node in category_tree "
            r"\(node 'Food' has 1 children\)",
        ),
        (
            {"category_tree": {"name": "Food", "children": [{"children": []}]}},
            "category_tree node at root/0 must be",
        ),
        ({"stats": [1]}, r"stats must be a JSON object, got \[1\]"),
    ],
)
def test_bad_tables_raise_naming_file_and_item(tmp_path, overrides, message):
    path = write_raw(tmp_path / "item_codes.json", make_table(**overrides))
    with pytest.raises(ValueError, match=message) as error:
        read_item_codes(path)
    assert str(error.value).startswith(path)
    # The tokenizer validates the same way, from a file and from a mapping.
    with pytest.raises(ValueError, match=message):
        MindRecTokenizer.from_code_table(path)
    with pytest.raises(ValueError, match=message):
        MindRecTokenizer.from_code_table(make_table(**overrides))


def test_missing_keys_and_empty_tables():
    table = make_table()
    del table["codes"], table["num_sid_digits"]
    with pytest.raises(
        ValueError, match=r"my table: missing required key\(s\) \['num_sid_digits', 'codes'\]"
    ):
        validate_item_codes(table, source="my table")
    with pytest.raises(ValueError, match="item_ids must be a non-empty list"):
        validate_item_codes(make_table(item_ids=[], codes=[]))
    with pytest.raises(ValueError, match="at least one slot"):
        validate_item_codes(make_table(num_category_levels=0, num_sid_digits=0, code_slot_sizes=[]))


def test_unreadable_files(tmp_path):
    broken = tmp_path / "item_codes.json"
    broken.write_text('{\n  "format_version": 1,\n  "codes": [1, 2,]\n}\n', encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"item_codes.json: not valid JSON \(line 3, column 18\): Expecting value"
    ):
        read_item_codes(broken)
    with pytest.raises(FileNotFoundError, match="code table file .*absent.json does not exist"):
        MindRecTokenizer.from_code_table(tmp_path / "absent.json")
    with pytest.raises(FileNotFoundError, match=f"no item_codes.json found in {tmp_path / 'empty'}"):
        (tmp_path / "empty").mkdir()
        MindRecTokenizer.from_pretrained(tmp_path / "empty")


def test_optional_keys_default_and_write_read_round_trip(tmp_path):
    bare = {key: THREE_ITEM_TABLE[key] for key in ("format_version", "num_category_levels", "num_sid_digits",
                                                    "code_slot_sizes", "item_ids", "codes")}  # fmt: skip
    assert validate_item_codes(bare) == {**THREE_ITEM_TABLE, "category_tree": None, "method": {}, "stats": {}}
    path = tmp_path / "out" / "item_codes.json"
    path.parent.mkdir()
    write_item_codes(path, THREE_ITEM_TABLE)
    assert json.loads(path.read_text(encoding="utf-8")) == THREE_ITEM_TABLE
    assert read_item_codes(path) == THREE_ITEM_TABLE
    assert [p.name for p in path.parent.iterdir()] == ["item_codes.json"]  # no temporary file left behind
    # A folder holding item_codes.json is accepted too.
    assert MindRecTokenizer.from_code_table(path.parent).code_table == THREE_ITEM_TABLE


def test_files_of_the_code_table_builder_load_both_ways(tmp_path):
    """The contract with tokenization/code_table.py: its item_codes.json loads here, and ours loads there."""
    paths = ["Beauty,Makeup,Face", "Beauty,Makeup,Eyes", "Beauty,Skin Care,Face", "Beauty,Hair Care"]
    built = ItemCodeTable.from_sid_array(
        ["a", "b", "c", "d"],
        np.array([[0, 1], [1, 1], [0, 0], [2, 3]]),
        category_tree=CategoryTree.from_paths(paths, num_levels=2),
        category_paths=paths,
        codebook_size=4,
    )
    built.save(tmp_path / "item_codes.json")
    tok = MindRecTokenizer.from_code_table(tmp_path)
    assert tok.item_codes.tolist() == built.codes.tolist()
    assert [tok.category_names(i) for i in range(4)] == [built.category_names(i) for i in range(4)]
    assert tok.category_names(1) == ["Makeup", "Eyes"]
    tok.save_pretrained(tmp_path / "tokenizer")
    assert ItemCodeTable.load(tmp_path / "tokenizer" / "item_codes.json").to_json() == built.to_json()
