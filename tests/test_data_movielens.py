"""MovieLens' own files: ratings.dat + movies.dat (ml-1m), u.data + u.item + u.genre (ml-100k)."""

from __future__ import annotations

import pytest

from mindrec.data import DataFormatError, detect_format, load_dataset_from_path
from mindrec.data.loaders import load_movielens, read_movies_dat
from mindrec.data.loaders.movielens import read_genre_names, read_u_item

# Out of order on purpose: user 1 rated 20 (t=5), 10 (t=9), 30 (t=9, a tie kept in file order), 40 (t=12); user 2
# rated 30 then 10 then 20; user 3 only twice (skipped by the splits).
RATINGS = "1::10::5::9\n2::30::3::1\n1::20::4::5\n\n1::30::2::9\n2::10::1::2\n1::40::5::12\n3::10::4::1\n2::20::3::3\n3::20::4::2\n"
# ml-1m's movies.dat is Latin-1: "Café" is one byte 0xe9 there.
MOVIES = "10::Toy Story (1995)::Animation|Children's|Comedy\n20::Café au Lait (1993)::Comedy\n30::Heat (1995)::Action|Crime|Thriller\n40::Nixon (1995)::Drama\n50::Unrated (1990)::(no genres listed)\n"


def write(folder, ratings=RATINGS, movies=MOVIES, encoding="latin-1"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(ratings, encoding="utf-8")
    if movies is not None:
        (folder / "movies.dat").write_bytes(movies.encode(encoding))
    return folder


def rows(dataset):
    return list(zip(dataset["user_id"], dataset["history"], dataset["target"], strict=True))


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_ratings_sorted_by_time_with_titles_and_genres(tmp_path, caplog, encoding):
    folder = write(tmp_path / "ml-1m", encoding=encoding)
    assert detect_format(folder) == detect_format(folder / "ratings.dat") == "movielens"
    with caplog.at_level("INFO", logger="mindrec.data.loaders.movielens"):
        data = load_dataset_from_path(folder)
    latin = [message for message in caplog.messages if "not UTF-8" in message]
    assert latin == ([f"{folder / 'movies.dat'} is not UTF-8: read as Latin-1 (ml-1m's and ml-100k's encoding)"] if encoding == "latin-1" else [])
    assert data.name == "ml-1m"
    assert data.item_ids == ["10", "20", "30", "40", "50"]  # movies.dat's order; the unrated movie is kept
    # user 1: 20, 10, 30, 40 (indices 1, 0, 2, 3); user 2: 30, 10, 20 (2, 0, 1).
    assert rows(data.splits["train"]) == [("1", [1], 0)]
    assert rows(data.splits["validation"]) == [("1", [1, 0], 2), ("2", [2], 0)]
    assert rows(data.splits["test"]) == [("1", [1, 0, 2], 3), ("2", [2, 0], 1)]
    assert data.items["title"][:2] == ["Toy Story (1995)", "Café au Lait (1993)"]
    assert data.items["description"] == [
        "Animation, Children's, Comedy", "Comedy", "Action, Crime, Thriller", "Drama", "(no genres listed)"
    ]  # fmt: skip
    assert data.items["categories"] == [[]] * 5


def test_without_movies_dat_the_items_are_the_rated_ids(tmp_path, caplog):
    folder = write(tmp_path / "bare", movies=None)
    with caplog.at_level("WARNING", logger="mindrec.data.loaders.paths"):
        data = load_movielens(folder / "ratings.dat").to_prepared()
    assert any("movies.dat not found: the item table will hold ids only" in message for message in caplog.messages)
    assert data.item_ids == ["10", "30", "20", "40"]  # order of first appearance in ratings.dat
    assert rows(data.splits["test"]) == [("1", [2, 0, 1], 3), ("2", [1, 0], 2)]


@pytest.mark.parametrize(
    ("ratings", "movies", "message"),
    [
        ("1::10::5\n", MOVIES, r"ratings\.dat, line 1: expected 4 fields separated by '::', got 3"),
        ("1::10::5::9\n1::99::5::10\n", MOVIES, r"ratings\.dat, line 2: unknown item id '99' \(not in .*movies\.dat\)"),
        ("1::10::5::soon\n", MOVIES, r"ratings\.dat, line 1: timestamp 'soon' is not an integer"),
        ("1::10::5::1\n1::20::5::" + "9" * 20 + "\n", MOVIES, r"ratings\.dat, line 2: timestamp '9{20}' does not fit in 64 bits"),
        ("1::::5::9\n", MOVIES, r"ratings\.dat, line 1: empty user or movie id"),
        ("\n\n", MOVIES, r"ratings\.dat: the file has no records"),
        (RATINGS, "10::Toy Story\n", r"movies\.dat, line 1: expected 3 fields separated by '::', got 2"),
        (RATINGS, "10::A::Drama\n10::B::Drama\n", r"movies\.dat, line 2: duplicate item id '10'"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path, ratings, movies, message):
    folder = write(tmp_path / "ml", ratings=ratings, movies=movies)
    with pytest.raises(DataFormatError, match=message):
        load_movielens(folder)


def test_movies_file_alone(tmp_path):
    catalogue = read_movies_dat(write(tmp_path / "ml") / "movies.dat")
    assert [record.item_id for record in catalogue.records] == ["10", "20", "30", "40", "50"]
    with pytest.raises(FileNotFoundError, match="MovieLens ratings file not found: .*nowhere is neither a folder holding ratings.dat or u.data"):
        load_movielens(tmp_path / "nowhere")


# ml-100k: the same interactions as RATINGS, tab-separated; u.item's flags name genres through u.genre (Latin-1 file).
U_DATA = "".join(line.replace("::", "\t") + "\n" for line in RATINGS.splitlines())
U_GENRE = "unknown|0\nAction|1\nComedy|2\n\n"
U_ITEM = (
    "10|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|0|0|1\n"
    "20|Café au Lait (1993)|01-Jan-1993||http://us.imdb.com/x|0|1|1\n"
    "30|Heat (1995)|01-Jan-1995||http://us.imdb.com/y|0|1|0\n"
    "40|unknown||||1|0|0\n"
)


def write_100k(folder, data=U_DATA, items=U_ITEM, genres=U_GENRE):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(data, encoding="utf-8")
    if items is not None:
        (folder / "u.item").write_bytes(items.encode("latin-1"))
    if genres is not None:
        (folder / "u.genre").write_text(genres, encoding="utf-8")
    return folder


def test_ml100k_files_give_the_same_splits_with_named_genres(tmp_path):
    folder = write_100k(tmp_path / "ml-100k")
    assert detect_format(folder) == detect_format(folder / "u.data") == "movielens"
    data = load_dataset_from_path(folder)
    assert data.name == "ml-100k"
    assert data.item_ids == ["10", "20", "30", "40"]
    assert rows(data.splits["train"]) == [("1", [1], 0)]
    assert rows(data.splits["validation"]) == [("1", [1, 0], 2), ("2", [2], 0)]
    assert rows(data.splits["test"]) == [("1", [1, 0, 2], 3), ("2", [2, 0], 1)]
    assert data.items["title"] == ["Toy Story (1995)", "Café au Lait (1993)", "Heat (1995)", "unknown"]
    assert data.items["description"] == ["Comedy", "Action, Comedy", "Action", "unknown"]
    assert read_genre_names(folder / "u.genre") == ["unknown", "Action", "Comedy"]


def test_ml100k_without_u_genre_leaves_the_flags_out(tmp_path, caplog):
    folder = write_100k(tmp_path / "ml-100k", genres=None)
    with caplog.at_level("WARNING", logger="mindrec.data.loaders.movielens"):
        catalogue = read_u_item(folder / "u.item")
    assert caplog.messages == [f"{folder / 'u.genre'} not found: the genre flags of {folder / 'u.item'} are left out"]
    assert [record.title for record in catalogue.records] == ["Toy Story (1995)", "Café au Lait (1993)", "Heat (1995)", "unknown"]
    assert [record.description for record in catalogue.records] == [""] * 4


def test_ml100k_without_u_item_the_items_are_the_rated_ids(tmp_path):
    data = load_movielens(write_100k(tmp_path / "bare", items=None)).to_prepared()
    assert data.item_ids == ["10", "30", "20", "40"]
    assert rows(data.splits["test"]) == [("1", [2, 0, 1], 3), ("2", [1, 0], 2)]


@pytest.mark.parametrize(
    ("data", "items", "genres", "message"),
    [
        ("1\t10\t5\n", U_ITEM, U_GENRE, r"u\.data, line 1: expected 4 fields separated by '\\t', got 3"),
        ("1\t99\t5\t9\n", U_ITEM, U_GENRE, r"u\.data, line 1: unknown item id '99' \(not in .*u\.item\)"),
        (U_DATA, "10|Toy Story|x||url|0|1\n", U_GENRE, r"u\.item, line 1: expected 8 fields separated by '\|', got 7"),
        (U_DATA, "10|Toy Story|x\n", None, r"u\.item, line 1: expected at least 5 fields separated by '\|', got 3"),
        (U_DATA, "10|Toy Story|x||url|0|2|0\n", U_GENRE, r"u\.item, line 1: genre flags must be 0 or 1, got '0\|2\|0'"),
        (U_DATA, "|Toy Story|x||url|0|0|0\n", U_GENRE, r"u\.item, line 1: empty movie id"),
        (U_DATA, U_ITEM, "unknown|0\nAction|2\n", r"u\.genre, line 2: genre index '2', expected 1"),
    ],
)
def test_ml100k_errors_name_the_file_and_line(tmp_path, data, items, genres, message):
    folder = write_100k(tmp_path / "ml", data=data, items=items, genres=genres)
    with pytest.raises(DataFormatError, match=message):
        load_movielens(folder)
