"""Category tree: full-path keys, OTHER padding, HTML unescaping, JSON round trip, errors."""

import json
from pathlib import Path

import pytest

from mindrec.tokenization.category_tree import OTHER, CategoryTree, normalize_category_path

BEAUTY_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "amazon_beauty_2014"

# "Games" occurs under two consoles; "PC" stops after level 1.
CONSOLE_PATHS = [
    ["Video Games", "Xbox One", "Games"],
    ["Video Games", "PlayStation 4", "Games"],
    ["Video Games", "Xbox One", "Accessories", "Controllers"],
    ["Video Games", "PC"],
    ["Video Games", "Xbox One", "Games"],
]


def test_same_name_under_two_parents_is_two_nodes():
    tree = CategoryTree.from_paths(CONSOLE_PATHS, num_levels=2)
    # Children are sorted by name, OTHER last.
    assert tree.to_json() == {
        "name": "Video Games",
        "children": [
            {"name": "PC", "children": [{"name": OTHER, "children": []}]},
            {"name": "PlayStation 4", "children": [{"name": "Games", "children": []}]},
            {
                "name": "Xbox One",
                "children": [{"name": "Accessories", "children": []}, {"name": "Games", "children": []}],
            },
        ],
    }
    assert [tree.encode(path) for path in CONSOLE_PATHS] == [[2, 1], [1, 0], [2, 0], [0, 0], [2, 1]]
    assert tree.decode([1, 0]) == ["PlayStation 4", "Games"]
    assert tree.decode([0, 0]) == ["PC", OTHER]
    assert tree.node_counts() == [3, 3]
    assert tree.node_counts(include_other=True) == [3, 4]
    assert tree.level_sizes == [3, 2]


def test_short_paths_are_padded_with_other_at_every_missing_level():
    paths = [["R", "A", "x", "1"], ["R", "A"], ["R", "B", "y"], ["R"]]
    tree = CategoryTree.from_paths(paths, num_levels=3)
    assert [tree.encode(path) for path in paths] == [[0, 0, 0], [0, 1, 0], [1, 0, 0], [2, 0, 0]]
    assert tree.decode([0, 0, 0]) == ["A", "x", "1"]
    assert tree.decode([0, 1, 0]) == ["A", OTHER, OTHER]
    assert tree.decode([2, 0, 0]) == [OTHER, OTHER, OTHER]
    assert tree.decode([1, 0, 0]) == ["B", "y", OTHER]
    assert tree.node_counts() == [2, 2, 1]
    assert tree.node_counts(include_other=True) == [3, 4, 4]
    assert tree.level_sizes == [3, 2, 1]


def test_html_entities_and_string_paths_are_normalised():
    assert normalize_category_path("Beauty,Arts, Crafts &amp; Sewing,Paint  Brushes") == [
        "Beauty",
        "Arts, Crafts & Sewing",
        "Paint Brushes",
    ]
    tree = CategoryTree.from_paths(
        [["Beauty", "Bath &amp; Body"], ["Beauty", "Bath & Body"], None], num_levels=1
    )
    assert tree.to_json()["children"] == [
        {"name": "Bath & Body", "children": []},
        {"name": OTHER, "children": []},
    ]
    assert tree.encode("Beauty,Bath &amp; Body") == [0]
    assert tree.encode(None) == [1]


def test_depth_zero_and_keep_root():
    empty = CategoryTree.from_paths(CONSOLE_PATHS, num_levels=0)
    assert empty.level_sizes == [] and empty.node_counts() == [] and empty.encode(CONSOLE_PATHS[0]) == []
    assert CategoryTree.from_json(empty.to_json()).num_levels == 0
    with_root = CategoryTree.from_paths(CONSOLE_PATHS, num_levels=1, drop_root=False)
    assert with_root.to_json() == {"name": "", "children": [{"name": "Video Games", "children": []}]}
    assert with_root.encode(CONSOLE_PATHS[3]) == [0]


def test_json_round_trip(tmp_path):
    tree = CategoryTree.from_paths(CONSOLE_PATHS, num_levels=3)
    tree.save(tmp_path / "tree.json")
    loaded = CategoryTree.load(tmp_path / "tree.json")
    assert loaded == tree
    assert (loaded.num_levels, loaded.drop_root, loaded.level_sizes) == (3, True, tree.level_sizes)
    assert [loaded.encode(path) for path in CONSOLE_PATHS] == [tree.encode(path) for path in CONSOLE_PATHS]


def test_children_order_does_not_depend_on_item_order():
    forward = CategoryTree.from_paths(CONSOLE_PATHS, num_levels=3)
    backward = CategoryTree.from_paths(CONSOLE_PATHS[::-1], num_levels=3)
    assert forward == backward


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ([["A", "x"], ["A", "y"], ["B", "z"]], r"item 2 has root 'B' while earlier items have 'A'"),
        ([["A", "x"], ["A", " ", "y"]], r"item 1: category level 1 is empty"),
        ([["A", OTHER]], r"item 0: category name '\[other\]' is reserved"),
        ([["A", 3]], r"item 0: category level 1 is 3, expected a string"),
    ],
)
def test_bad_paths_raise(paths, message):
    with pytest.raises(ValueError, match=message):
        CategoryTree.from_paths(paths, num_levels=2)


def test_negative_depth_raises():
    with pytest.raises(ValueError, match="num_levels must be >= 0, got -1"):
        CategoryTree.from_paths(CONSOLE_PATHS, num_levels=-1)


def test_encode_and_decode_errors():
    tree = CategoryTree.from_paths(CONSOLE_PATHS, num_levels=2)
    with pytest.raises(
        ValueError, match=r"item 'x': category 'Wii' at level 1 under \[\] is not in the tree"
    ):
        tree.encode(["Video Games", "Wii"], where="item 'x'")
    with pytest.raises(ValueError, match=r"root 'Books' differs from the tree's root 'Video Games'"):
        tree.encode(["Books", "PC"])
    with pytest.raises(
        ValueError, match=r"category value 2 at level 2 is out of range: node \['Xbox One'\] has 2"
    ):
        tree.decode([2, 2])
    with pytest.raises(ValueError, match=r"expected 2 category values, got \[0\]"):
        tree.decode([0])


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"name": "R", "children": [{"name": "A"}]}, r"node at root/0 must be"),
        (
            {"name": "R", "children": [{"name": "A", "children": []}, {"name": "A", "children": []}]},
            r"duplicate child",
        ),
        (
            {
                "name": "R",
                "children": [
                    {"name": "A", "children": [{"name": "a", "children": []}]},
                    {"name": "B", "children": []},
                ],
            },
            r"leaf R > B is at depth 1, expected 2",
        ),
    ],
)
def test_bad_json_raises(obj, message):
    with pytest.raises(ValueError, match=message):
        CategoryTree.from_json(obj)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json does not exist"):
        CategoryTree.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text(json.dumps({"name": "R", "children": "x"}))
    with pytest.raises(ValueError, match=r"bad.json: category tree node at root must be"):
        CategoryTree.load(tmp_path / "bad.json")


@pytest.mark.skipif(not BEAUTY_DIR.is_dir(), reason="shared Amazon Beauty data not available")
def test_beauty_node_counts():
    with open(BEAUTY_DIR / "items.jsonl", encoding="utf-8") as handle:
        paths = [json.loads(line)["categories"] for line in handle]
    tree = CategoryTree.from_paths(paths, num_levels=3)
    assert tree.node_counts() == [6, 40, 157]
    assert tree.node_counts(include_other=True) == [6, 46, 193]
    assert tree.level_sizes == [6, 12, 12]
