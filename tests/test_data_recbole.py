"""RecBole atomic files (.inter + .item)."""

from __future__ import annotations

import pytest

from mindrec.data import DataFormatError, detect_format, load_dataset_from_path, load_recbole
from mindrec.data.loaders import read_item_file

INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "u2\tC\t3\t5\n"
    "u1\tA\t5\t30\n"
    "u1\tB\t4\t10\n"
    "u1\tC\t5\t20\n"
    "u1\tD\t1\t20\n"
    "u2\tA\t2\t1\n"
    "u2\tD\t2\t9\n"
    "u3\tA\t2\t9\n"
)
# Values follow pandas' CSV quoting: quoted fields may hold tabs, newlines and doubled quotes.
ITEM = (
    "item_id:token\ttitle:token\tsales_rank:float\tcategories:token_seq\tbrand:token\n"
    "A\tAlpha &amp; Co\t1.0\t'Arts, Crafts &amp; Sewing', 'Painting'\tAcme\n"
    'B\t"Beta\ttwo\nlines"\t2.0\t"\'Beauty\', ""Women\'s"", \'Eau de Parfum\'"\tBrandB\n'
    "C\tGamma\t3.0\tRoot Leaf\t\n"
    "D\tDelta\t4.0\t\tBrandD\n"
    "E\tUnused\t5.0\t'Root'\tBrandE\n"
)


def write_files(folder, inter=INTER, item=ITEM, name="toy"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.inter").write_text(inter)
    if item is not None:
        (folder / f"{name}.item").write_text(item)
    return folder


def rows(dataset):
    return list(zip(dataset["user_id"], dataset["history"], dataset["target"], strict=True))


def test_load_sorts_by_time_and_parses_item_fields(tmp_path):
    folder = write_files(tmp_path / "ds")
    (folder / "toy.train.inter").write_text("not a candidate")  # RecBole benchmark files are ignored
    assert detect_format(folder) == "recbole"
    data = load_dataset_from_path(folder)
    assert data.name == "toy"
    assert data.item_ids == ["A", "B", "C", "D", "E"]
    # u1 by time: B(10), C(20), D(20, tie keeps file order), A(30); u2: A(1), C(5), D(9); u3 skipped.
    assert rows(data.splits["train"]) == [("u1", [1], 2)]
    assert rows(data.splits["validation"]) == [("u2", [0], 2), ("u1", [1, 2], 3)]
    assert rows(data.splits["test"]) == [("u2", [0, 2], 3), ("u1", [1, 2, 3], 0)]
    assert data.statistics()["interactions"] == 7
    assert data.items.to_list() == [
        {
            "item_id": "A",
            "title": "Alpha & Co",
            "brand": "Acme",
            "categories": ["Arts, Crafts & Sewing", "Painting"],
            "description": "",
        },
        {
            "item_id": "B",
            "title": "Beta two lines",
            "brand": "BrandB",
            "categories": ["Beauty", "Women's", "Eau de Parfum"],
            "description": "",
        },
        {"item_id": "C", "title": "Gamma", "brand": "", "categories": ["Root", "Leaf"], "description": ""},
        {"item_id": "D", "title": "Delta", "brand": "BrandD", "categories": [], "description": ""},
        {"item_id": "E", "title": "Unused", "brand": "BrandE", "categories": ["Root"], "description": ""},
    ]


def test_without_timestamp_or_item_file(tmp_path):
    inter = "user_id:token\titem_id:token\nx\tq\nx\tp\ny\tp\nx\tr\ny\tq\ny\tr\n"
    folder = write_files(tmp_path / "plain", inter=inter, item=None, name="plain")
    data = load_recbole(folder / "plain.inter").to_prepared()
    assert data.item_ids == ["q", "p", "r"]  # order of first appearance in the file
    assert rows(data.splits["test"]) == [("x", [0, 1], 2), ("y", [1, 0], 2)]


def test_prefix_path_and_explicit_format(tmp_path):
    write_files(tmp_path / "ds")
    assert detect_format(tmp_path / "ds" / "toy") == "recbole"
    data = load_dataset_from_path(tmp_path / "ds" / "toy", format="recbole", max_history=1)
    assert rows(data.splits["test"]) == [("u2", [2], 3), ("u1", [3], 0)]


def test_item_file_alone_reads_every_record(tmp_path):
    write_files(tmp_path / "ds")
    catalogue = read_item_file(tmp_path / "ds" / "toy.item")
    assert catalogue.item_ids == ["A", "B", "C", "D", "E"]
    assert catalogue.records[1].title == "Beta two lines"


# RecBole's MovieLens files: the title in ``movie_title``, the genres in ``genre`` (ml-1m) or ``class`` (ml-100k).
MOVIELENS_ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\t{genres}:token_seq\n"
    "A\tToy Story (1995)\t1995\tAnimation Children's Comedy\n"
    "B\tHeat\t1995\tAction  Crime\n"
    "C\t'Night Mother (1986)\t1986\t\n"
    "D\tBalto\t1995\tAnimation\n"
    "E\tUnused\t1996\tDrama\n"
)


@pytest.mark.parametrize("genres", ["genre", "class"])
def test_movielens_titles_and_genres(tmp_path, caplog, genres):
    folder = write_files(tmp_path / "ml", item=MOVIELENS_ITEM.format(genres=genres), name="ml")
    with caplog.at_level("INFO", logger="mindrec.data.loaders.recbole"):
        catalogue = read_item_file(folder / "ml.item")
    assert [(r.title, r.description, r.categories, r.brand) for r in catalogue.records] == [
        ("Toy Story (1995)", "Animation, Children's, Comedy", (), ""),
        ("Heat", "Action, Crime", (), ""),
        ("'Night Mother (1986)", "", (), ""),
        ("Balto", "Animation", (), ""),
        ("Unused", "Drama", (), ""),
    ]
    assert caplog.messages == [
        f"{folder / 'ml.item'}: titles from 'movie_title', genres from '{genres}' (into the description text); "
        "fields left out: release_year"
    ]


def test_item_file_names_its_unused_fields(tmp_path, caplog):
    item = "item_id:token\ttitle:token\tmovie_title:token\tdescription:token\tgenre:token\tprice:float\nA\tT\tM\tD\tG\t1\n"
    folder = write_files(tmp_path / "ds", item=item)
    with caplog.at_level("INFO", logger="mindrec.data.loaders.recbole"):
        (record,) = read_item_file(folder / "toy.item").records
    # ``title`` comes before ``movie_title``; the genres follow the description.
    assert (record.title, record.description) == ("T", "D. G")
    assert caplog.messages[0].endswith(
        "titles from 'title', genres from 'genre' (into the description text); fields left out: movie_title, price"
    )
    caplog.clear()
    folder = write_files(tmp_path / "bare", item="item_id:token\nA\n")
    with caplog.at_level("INFO", logger="mindrec.data.loaders.recbole"):
        read_item_file(folder / "toy.item")
    assert caplog.messages[0].endswith("titles from no field, genres from no field; fields left out: none")


HEADER = "user_id:token\titem_id:token\ttimestamp:float\n"


@pytest.mark.parametrize(
    ("inter", "message"),
    [
        (HEADER + "u1\tA\t1\nu1\tZ\t2\n", r"toy\.inter, line 3: unknown item id 'Z' \(not in .*toy\.item\)"),
        (HEADER + "u1\tA\n", r"toy\.inter, line 2: expected 3 tab-separated values, got 2"),
        (HEADER + "u1\tA\tsoon\n", r"toy\.inter, line 2: timestamp 'soon' is not a number"),
        (HEADER + "u1\tA\t1\nu1\tA\tnan\n", r"toy\.inter, line 3: timestamp 'nan' is not a number"),
        (HEADER + "u1\t\t1\n", r"toy\.inter, line 2: empty user_id or item_id"),
        ("user_id\titem_id:token\nu1\tA\n", r"toy\.inter, line 1: header field 'user_id' is not name:type"),
        (
            "user_id:token\titem_id:text\nu1\tA\n",
            r"toy\.inter, line 1: header field 'item_id:text' is not name:type",
        ),
        ("user_id:token\titem:token\nu1\tA\n", r"toy\.inter, line 1: header lacks field\(s\) \['item_id'\]"),
        (HEADER, r"toy\.inter: the file has a header but no records"),
        ("", r"toy\.inter: the file is empty"),
    ],
)
def test_inter_file_errors(tmp_path, inter, message):
    folder = write_files(tmp_path / "ds", inter=inter)
    with pytest.raises(DataFormatError, match=message):
        load_recbole(folder)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "item_id:token\ttitle:token\nA\tx\nB\ty\nA\tz\n",
            r"toy\.item, line 4: duplicate item id 'A' \(already defined at .*toy\.item, line 2\)",
        ),
        (
            "item_id:token\tcategories:token_seq\nA\t'Root', 'Le\n",
            r"toy\.item, line 2: cannot parse token_seq",
        ),
        (
            "item_id:token\tcategories:token_seq\nA\t'Root', 3\n",
            r"toy\.item, line 2: token_seq .* holds non-string values",
        ),
        ("title:token\nx\n", r"toy\.item, line 1: header lacks field\(s\) \['item_id'\]"),
        ("", r"toy\.item: the file is empty"),
    ],
)
def test_item_file_errors(tmp_path, item, message):
    folder = write_files(tmp_path / "ds", item=item)
    with pytest.raises(DataFormatError, match=message):
        load_recbole(folder)


def test_ambiguous_folder(tmp_path):
    write_files(tmp_path / "ds", name="one")
    write_files(tmp_path / "ds", name="two")
    with pytest.raises(
        FileNotFoundError, match=r"expected exactly one <name>\.inter file, found one\.inter, two\.inter"
    ):
        load_recbole(tmp_path / "ds")
