"""Category-path splitting and text cleaning."""

from __future__ import annotations

import pytest

from mindrec.data import DataFormatError, clean_text, normalize_categories, split_category_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Arts, Crafts & Sewing,Painting,Brushes", ["Arts, Crafts & Sewing", "Painting", "Brushes"]),
        (
            "Musical Instruments,Studio Recording Equipment",
            ["Musical Instruments", "Studio Recording Equipment"],
        ),
        (
            "Beauty,Skin Care,Face,Creams &amp; Moisturizers",
            ["Beauty", "Skin Care", "Face", "Creams & Moisturizers"],
        ),
        # Unescaping happens after splitting, so an escaped comma stays inside its name.
        ("A&#44;B,C", ["A,B", "C"]),
        ("Toys,,Games,", ["Toys", "Games"]),
        ("Puzzles,\tJigsaw", ["Puzzles, Jigsaw"]),
        ("", []),
    ],
)
def test_split_category_path(path, expected):
    assert split_category_path(path) == expected


def test_clean_text():
    assert clean_text(None) == ""
    assert clean_text("  Smooth &amp;\n Silky  ") == "Smooth & Silky"
    assert clean_text(["First  line.", "", "Second &quot;line&quot;."]) == 'First line. Second "line".'
    assert clean_text(12.5) == "12.5"


def test_normalize_categories_forms():
    # Amazon 2014: a list of paths, the first is used.
    assert normalize_categories([["Beauty", "Makeup"], ["Beauty", "Tools"]], "x") == ["Beauty", "Makeup"]
    # Amazon 2018: one path, HTML debris ends it, names are unescaped.
    assert normalize_categories(["Arts, Crafts &amp; Sewing", "Painting", "</span></span>", "Junk"], "x") == [
        "Arts, Crafts & Sewing",
        "Painting",
    ]
    assert normalize_categories("Toys & Games,Puzzles", "x") == ["Toys & Games", "Puzzles"]
    assert normalize_categories(None, "x") == []
    assert normalize_categories([], "x") == []


def test_normalize_categories_errors_name_the_place():
    with pytest.raises(
        DataFormatError, match="items.jsonl, line 3: categories must be a string or a list, got int"
    ):
        normalize_categories(7, "items.jsonl, line 3")
    with pytest.raises(DataFormatError, match=r"item '4': category names must be strings, got \['x'\]"):
        normalize_categories(["Root", ["x"]], "item '4'")
