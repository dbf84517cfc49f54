"""ItemCodeTable: statistics, JSON round trip, from_sid_array and every validation error."""

import json

import numpy as np
import pytest

from mindrec.tokenization.category_tree import CategoryTree
from mindrec.tokenization.code_table import ItemCodeTable, code_statistics, collision_rate

PATHS = [["Shop", "Nails"], ["Shop", "Nails"], ["Shop", "Hair"], ["Shop", "Hair", "Oil"]]


def make_table() -> ItemCodeTable:
    tree = CategoryTree.from_paths(PATHS, num_levels=2)  # Hair -> {Oil, OTHER}, Nails -> {OTHER}
    codes = np.array([[1, 0, 0, 1], [1, 0, 1, 1], [0, 1, 0, 0], [0, 0, 0, 0]])
    return ItemCodeTable(
        ["a", "b", "c", "d"], codes, [2, 2, 2, 2], 2, tree, {"quantizer": {"name": "x"}}, {"k": 1}
    )


def test_code_statistics_on_a_hand_made_table():
    codes = np.array([[0, 0], [0, 1], [1, 1], [1, 1]])
    stats = code_statistics(codes, [2, 4], num_category_levels=0)
    assert stats["num_items"] == 4 and stats["distinct_codes"] == 3
    assert stats["collision_rate"] == 0.5
    assert stats["codebook_usage"] == [1.0, 0.5]
    # digit 0: 2/4 and 2/4 -> 1 bit; digit 1: 1/4 and 3/4 -> 0.811278 bits.
    assert stats["entropy_bits"] == [1.0, 0.811278]
    assert code_statistics(codes, [2, 4], num_category_levels=1)["codebook_usage"] == [0.5]
    assert collision_rate(np.array([[1], [2], [1], [1], [3]])) == 0.6


def test_accessors():
    table = make_table()
    assert (table.num_items, table.num_sid_digits, table.code_length, len(table)) == (4, 2, 4, 4)
    assert table.index_of("c") == 2
    assert table.category_names(3) == ["Hair", "Oil"]
    assert table.category_names(0) == ["Nails", "[other]"]
    with pytest.raises(KeyError, match="item_id 'z' is not in the code table"):
        table.index_of("z")


def test_json_round_trip(tmp_path):
    table = make_table()
    table.save(tmp_path / "item_codes.json")
    text = (tmp_path / "item_codes.json").read_text()
    assert "\n    [1, 0, 1, 1],\n" in text  # one code row per line
    raw = json.loads(text)
    assert list(raw) == [
        "format_version",
        "num_category_levels",
        "num_sid_digits",
        "code_slot_sizes",
        "item_ids",
        "codes",
        "category_tree",
        "method",
        "stats",
    ]
    assert raw["format_version"] == 1 and raw["codes"][1] == [1, 0, 1, 1]
    assert raw["category_tree"]["children"][0]["children"][0]["name"] == "Oil"
    loaded = ItemCodeTable.load(tmp_path / "item_codes.json")
    assert loaded.to_json() == table.to_json()
    assert loaded.category_tree == table.category_tree
    assert loaded.codes.dtype == np.int64


def test_from_sid_array_with_and_without_tree():
    table = ItemCodeTable.from_sid_array([10, 11, 12], [[0, 2], [1, 0], [0, 0]])
    assert table.item_ids == ["10", "11", "12"] and table.code_slot_sizes == [3, 3]
    assert table.stats["distinct_codes"] == 3 and table.method == {"quantizer": {"name": "precomputed-sid"}}
    tree = CategoryTree.from_paths(PATHS, num_levels=1)
    with_tree = ItemCodeTable.from_sid_array(
        list("abcd"), np.array([[0], [1], [0], [1]]), tree, PATHS, codebook_size=4
    )
    assert with_tree.codes.tolist() == [[1, 0], [1, 1], [0, 0], [0, 1]]
    assert with_tree.code_slot_sizes == [2, 4] and with_tree.num_category_levels == 1


def test_from_sid_array_names_colliding_items():
    with pytest.raises(ValueError, match=r"items '7' and '9' share the code \[1, 1\]"):
        ItemCodeTable.from_sid_array([7, 8, 9], [[1, 1], [0, 1], [1, 1]])
    with pytest.raises(ValueError, match="category_tree needs category_paths with one path per item"):
        ItemCodeTable.from_sid_array(["a"], [[0]], CategoryTree.from_paths(PATHS, 1))


def corrupt(mutate):
    obj = make_table().to_json()
    mutate(obj)
    return obj


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.pop("stats"), r"lacks the keys \['stats'\]"),
        (lambda o: o.update(format_version=2), "unsupported format_version 2"),
        (lambda o: o.update(num_sid_digits=-1), "num_sid_digits must be a non-negative integer"),
        (lambda o: o.update(code_slot_sizes=[2, 2, 2]), r"code_slot_sizes has 3 entries but .* = 2 \+ 2"),
        (lambda o: o.update(code_slot_sizes=[2, 2, 2, 2.0]), "code_slot_sizes must be a list of integers"),
        (lambda o: o["item_ids"].pop(), "item_ids has 3 entries but codes has 4"),
        (lambda o: o["codes"][2].pop(), r"item 'c': code \[0, 1, 0\] is not a list of 4 integers"),
        (lambda o: o["codes"][1].__setitem__(0, 1.0), r"item 'b': code \[1.0, 0, 1, 1\] is not a list of 4"),
        (lambda o: o["codes"][3].__setitem__(3, 2), r"item 'd': slot 3 value 2 is outside 0..1"),
        (lambda o: o["codes"][3].__setitem__(2, -1), r"item 'd': slot 2 value -1 is outside 0..1"),
        (lambda o: o["item_ids"].__setitem__(3, "a"), r"item_id 'a' occurs twice \(rows 0 and 3\)"),
        (lambda o: o["item_ids"].__setitem__(3, 5), r"item_ids\[3\] = 5 is not a string"),
        (
            lambda o: o["codes"].__setitem__(3, [1, 0, 0, 1]),
            r"items 'a' and 'd' share the code \[1, 0, 0, 1\]",
        ),
        (lambda o: o.update(category_tree=None), "num_category_levels=2 but no category_tree was given"),
        (
            lambda o: o.update(code_slot_sizes=[3, 2, 2, 2]),
            r"category slot sizes \[3, 2\] differ from the tree",
        ),
        # Nails (value 1) has a single child: value 1 at level 2 is inside the slot but not a node.
        (
            lambda o: o["codes"].__setitem__(1, [1, 1, 1, 1]),
            r"item 'b': category slots \[1, 1\]: category value 1 at level 2 is out of range",
        ),
        (lambda o: o.update(method=[]), "method must be a JSON object"),
    ],
)
def test_every_validation_error_names_the_fault(mutate, message):
    with pytest.raises(ValueError, match=message):
        ItemCodeTable.from_json(corrupt(mutate))


def test_tree_depth_must_match_category_levels():
    tree = CategoryTree.from_paths(PATHS, num_levels=1)
    with pytest.raises(ValueError, match="category_tree has 1 levels but num_category_levels=2"):
        ItemCodeTable(["a"], [[0, 0, 0]], [2, 2, 2], 2, tree)
    with pytest.raises(ValueError, match=r"num_category_levels=4 is outside 0..3"):
        ItemCodeTable(["a"], [[0, 0, 0]], [2, 2, 2], 4)
    with pytest.raises(ValueError, match=r"code_slot_sizes must be positive, got \[2, 0\]"):
        ItemCodeTable(["a"], [[0, 0]], [2, 0], 0)
    with pytest.raises(
        ValueError, match=r"codes must be a \[num_items=2, code_length\] array, got shape \(1, 2\)"
    ):
        ItemCodeTable(["a", "b"], [[0, 0]], [2, 2], 0)
    with pytest.raises(ValueError, match="codes must be integers, got dtype float64"):
        ItemCodeTable(["a"], [[0.0, 1.0]], [2, 2], 0)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="item code table .*missing.json does not exist"):
        ItemCodeTable.load(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: Expecting property name"):
        ItemCodeTable.load(tmp_path / "broken.json")
    (tmp_path / "bad.json").write_text(json.dumps(corrupt(lambda o: o["codes"][3].__setitem__(3, 9))))
    with pytest.raises(ValueError, match=r"bad.json: item 'd': slot 3 value 9"):
        ItemCodeTable.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError, match="must be a JSON object, got list"):
        ItemCodeTable.load(tmp_path / "list.json")
