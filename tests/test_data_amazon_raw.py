"""Raw Amazon reviews + metadata (2014 dict literals and 2018 JSON lines), k-core filtering."""

from __future__ import annotations

import gzip
import json

import pytest

from mindrec.data import DataFormatError, detect_format, kcore_filter, load_amazon_raw, load_dataset_from_path


def review(user, item, time):
    return {"reviewerID": user, "asin": item, "unixReviewTime": time, "overall": 5.0}


# u2 appears first in the file, so it is the first user. After de-duplication (u1's second A) and
# 2-core filtering (D has one review, then u3 keeps one), the sequences are
# u2: B(5) C(5, tie keeps file order) A(7) X(8)   and   u1: B(10) C(20) A(30) X(35).
REVIEWS = [
    review("u2", "B", 5),
    review("u1", "A", 30),
    review("u1", "B", 10),
    review("u2", "C", 5),
    review("u1", "C", 20),
    review("u1", "A", 40),
    review("u3", "D", 1),
    review("u2", "A", 7),
    review("u3", "A", 2),
    review("u1", "X", 35),
    review("u2", "X", 8),
]
META_2018 = [
    {
        "asin": "A",
        "title": "Alpha &amp; Co",
        "brand": "Acme",
        "category": ["Arts, Crafts &amp; Sewing", "Painting", "</span>"],
        "description": ["One.", "Two."],
    },
    {"asin": "B", "title": "Beta", "category": ["Arts, Crafts &amp; Sewing"]},
    {"asin": "B", "title": "Beta", "category": ["Arts, Crafts &amp; Sewing"]},  # identical repeat: skipped
    {"asin": "C", "title": "Gamma", "description": "Plain."},
    {"asin": "D", "title": "Delta"},
    {"asin": "Z", "title": "Never reviewed"},
]


def write_lines(path, records, dump=json.dumps, compress=False):
    text = "".join(dump(record) + "\n" for record in records)
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def rows(dataset):
    return list(zip(dataset["user_id"], dataset["history"], dataset["target"], strict=True))


def test_kcore_cascade():
    pairs = [("u1", "A"), ("u1", "B"), ("u1", "C"), ("u2", "A"), ("u2", "B"), ("u3", "C"), ("u3", "D")]
    # D has one interaction -> u3 keeps one -> C is left with one -> u1 keeps A, B.
    assert kcore_filter(pairs, 2) == [0, 1, 3, 4]
    assert kcore_filter(pairs, 3) == []
    assert kcore_filter(pairs, 1) == list(range(7))
    assert kcore_filter(pairs, 0) == list(range(7))
    with pytest.raises(ValueError, match="k must be >= 0, got -1"):
        kcore_filter(pairs, -1)


def test_2018_json_lines_without_metadata(tmp_path):
    path = write_lines(tmp_path / "Toys_5.json", REVIEWS)
    assert detect_format(path) == "amazon-raw"
    data = load_dataset_from_path(path, kcore=2)
    assert data.name == "Toys_5"
    assert data.item_ids == ["B", "C", "A", "X"]
    assert rows(data.splits["test"]) == [("u2", [0, 1, 2], 3), ("u1", [0, 1, 2], 3)]
    assert rows(data.splits["train"]) == [("u2", [0], 1), ("u1", [0], 1)]
    assert data.items[0] == {"item_id": "B", "title": "", "brand": "", "categories": [], "description": ""}


def test_metadata_drops_unknown_items_and_fills_the_item_table(tmp_path):
    write_lines(tmp_path / "Toys.json", REVIEWS)
    write_lines(tmp_path / "meta_Toys.json", META_2018)
    data = load_dataset_from_path(tmp_path, kcore=2)  # folder: reviews + meta_* found
    assert data.item_ids == ["B", "C", "A"]  # X has no metadata
    assert rows(data.splits["test"]) == [("u2", [0, 1], 2), ("u1", [0, 1], 2)]
    assert data.items.to_list() == [
        {
            "item_id": "B",
            "title": "Beta",
            "brand": "",
            "categories": ["Arts, Crafts & Sewing"],
            "description": "",
        },
        {"item_id": "C", "title": "Gamma", "brand": "", "categories": [], "description": "Plain."},
        {
            "item_id": "A",
            "title": "Alpha & Co",
            "brand": "Acme",
            "categories": ["Arts, Crafts & Sewing", "Painting"],
            "description": "One. Two.",
        },
    ]


def test_2014_gzip_dict_literals_first_category_path(tmp_path):
    reviews = write_lines(tmp_path / "reviews_Beauty_5.json.gz", REVIEWS, compress=True)
    meta = [
        {"asin": item, "title": f"T{item}", "categories": [["Beauty", "Makeup", item], ["Beauty", "Other"]]}
        for item in "ABCDX"
    ]
    # 2014 metadata is a Python literal per line (single quotes), not JSON.
    meta_path = write_lines(tmp_path / "meta_Beauty.json.gz", meta, dump=repr, compress=True)
    data = load_amazon_raw(reviews, meta_path=meta_path, kcore=2).to_prepared()
    assert data.name == "Beauty_5"
    assert data.item_ids == ["B", "C", "A", "X"]
    assert data.items[3]["categories"] == ["Beauty", "Makeup", "X"]
    assert data.items[3]["title"] == "TX"


def test_default_five_core_removes_everything_here(tmp_path):
    path = write_lines(tmp_path / "Toys.json", REVIEWS)
    with pytest.raises(DataFormatError, match=r"Toys\.json: no interaction survives 5-core filtering"):
        load_amazon_raw(path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [json.dumps(review("u", "A", 1)), "{not valid"],
            r"r\.json, line 2: neither valid JSON nor a Python dict literal",
        ),
        # A literal is evaluated safely, never executed.
        (["__import__('os').getcwd()"], r"r\.json, line 1: neither valid JSON nor a Python dict literal"),
        (["[1, 2]"], r"r\.json, line 1: expected a record \(dict\), got list"),
        (['{"reviewerID": "u", "asin": "A"}'], r"r\.json, line 1: missing field\(s\) \['unixReviewTime'\]"),
        (
            [json.dumps(review("u", "A", "soon"))],
            r"r\.json, line 1: unixReviewTime must be an integer, got 'soon'",
        ),
        (
            [json.dumps(review("u", "A", 1.5))],
            r"r\.json, line 1: unixReviewTime must be an integer, got 1\.5",
        ),
        ([json.dumps(review("u", 7, 1))], r"r\.json, line 1: reviewerID and asin must be non-empty strings"),
        ([""], r"r\.json: the file is empty"),
    ],
)
def test_review_errors(tmp_path, lines, message):
    path = tmp_path / "r.json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=message):
        load_amazon_raw(path, kcore=0)


def test_metadata_errors(tmp_path):
    reviews = write_lines(tmp_path / "r.json", REVIEWS)
    meta = write_lines(
        tmp_path / "m.json", [{"asin": "A", "title": "one"}, {"asin": "B"}, {"asin": "A", "title": "two"}]
    )
    with pytest.raises(
        DataFormatError,
        match=r"m\.json, line 3: duplicate item id 'A' with different metadata \(first on line 1\)",
    ):
        load_amazon_raw(reviews, meta_path=meta, kcore=0)
    meta = write_lines(tmp_path / "m.json", [{"asin": "A"}, {"title": "no asin"}])
    with pytest.raises(DataFormatError, match=r"m\.json, line 2: missing or empty field 'asin'"):
        load_amazon_raw(reviews, meta_path=meta, kcore=0)
    meta = write_lines(tmp_path / "m.json", [{"asin": "A", "category": 3}])
    with pytest.raises(
        DataFormatError, match=r"m\.json, line 1: categories must be a string or a list, got int"
    ):
        load_amazon_raw(reviews, meta_path=meta, kcore=0)


def test_folder_resolution_errors(tmp_path):
    write_lines(tmp_path / "a.json", REVIEWS)
    write_lines(tmp_path / "b.json", REVIEWS)
    with pytest.raises(FileNotFoundError, match=r"expected one review file and at most one meta_\* file"):
        load_amazon_raw(tmp_path)
    with pytest.raises(FileNotFoundError, match="no Amazon review file or folder"):
        load_amazon_raw(tmp_path / "missing")
