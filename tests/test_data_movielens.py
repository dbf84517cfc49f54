"""MovieLens' own .dat files (ratings.dat + movies.dat, as in ml-1m)."""

from __future__ import annotations

import pytest

from mindrec.data import DataFormatError, detect_format, load_dataset_from_path
from mindrec.data.loaders import load_movielens, read_movies_dat

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
    assert latin == ([f"{folder / 'movies.dat'} is not UTF-8: read as Latin-1 (ml-1m's encoding)"] if encoding == "latin-1" else [])
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
        ("1::::5::9\n", MOVIES, r"ratings\.dat, line 1: empty UserID or MovieID"),
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
    with pytest.raises(FileNotFoundError, match="MovieLens ratings file not found"):
        load_movielens(tmp_path / "nowhere")
