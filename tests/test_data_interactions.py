"""Your own data: PreparedData.from_interactions over DataFrames, Datasets, CSV/Parquet files, a local
dataset folder (datasets.load_dataset), and the training options that reach it."""

from __future__ import annotations

import pandas as pd
import pytest
from datasets import Dataset

from mindrec.data import DataFormatError, PreparedData, detect_format
from mindrec.data.loaders.interactions import read_item_table
from mindrec.training.arguments import TRAIN_ARGUMENT_TYPES
from mindrec.training.config_loading import parse_arguments
from mindrec.training.data_setup import load_data

# Rows out of order on purpose: u1 bought A (t=1), B (t=5), C (t=7), D (t=9); u2 bought C, A, E; u3 only B, A.
INTERACTIONS = pd.DataFrame(
    {
        "user_id": ["u1", "u2", "u1", "u3", "u2", "u1", "u2", "u1", "u3"],
        "item_id": ["C", "C", "A", "B", "E", "D", "A", "B", "A"],
        "timestamp": [7, 10, 1, 3, 30, 9, 20, 5, 4],
    }
)
ITEMS = pd.DataFrame(
    {
        "item_id": ["A", "B", "C", "D", "E", "F"],
        "title": ["Lipstick", "Mascara", "Shampoo", "Conditioner", "Soap", "Unused"],
        "categories": ["Beauty > Makeup > Lips", "Beauty > Makeup > Eyes", "Beauty > Hair", "Beauty > Hair", "", "Beauty"],
    }
)
# Item index = item table row: A 0, B 1, C 2, D 3, E 4, F 5. u1 = A B C D, u2 = C A E, u3 (2 items) is skipped.
EXPECTED = {
    "train": [("u1", [0], 1)],
    "validation": [("u1", [0, 1], 2), ("u2", [2], 0)],
    "test": [("u1", [0, 1, 2], 3), ("u2", [2, 0], 4)],
}


def rows(data: PreparedData, split: str):
    part = data.splits[split]
    return list(zip(part["user_id"], part["history"], part["target"], strict=True))


def check(data: PreparedData):
    for split in ("train", "validation", "test"):
        assert rows(data, split) == EXPECTED[split], split
    assert data.item_ids == ["A", "B", "C", "D", "E", "F"]
    assert data.items["title"][:2] == ["Lipstick", "Mascara"]
    assert data.items["categories"] == [["Beauty", "Makeup", "Lips"], ["Beauty", "Makeup", "Eyes"], ["Beauty", "Hair"],
                                        ["Beauty", "Hair"], [], ["Beauty"]]  # fmt: skip


def test_dataframes_sorted_by_timestamp_with_an_item_table():
    check(PreparedData.from_interactions(INTERACTIONS, ITEMS))


def test_datasets_with_other_column_names_and_list_categories():
    renamed = INTERACTIONS.rename(columns={"user_id": "customer", "item_id": "sku", "timestamp": "when"})
    items = ITEMS.rename(columns={"item_id": "sku"})
    items["categories"] = [[part.strip() for part in value.split(">")] if value else [] for value in items["categories"]]
    data = PreparedData.from_interactions(
        Dataset.from_pandas(renamed), Dataset.from_pandas(items), user_column="customer", item_column="sku",
        timestamp_column="when",
    )  # fmt: skip
    check(data)


def test_movielens_genres_join_the_description_and_unused_columns_are_named(tmp_path, caplog):
    movies = pd.DataFrame(
        {
            "movieId": [1, 2, 3],
            "title": ["Toy Story (1995)", "Heat (1995)", "Nixon (1995)"],
            "genres": ["Adventure|Animation|Children", "Action|Crime", "(no genres listed)"],
            "description": ["", "A heist.", ""],
            "year": [1995, 1995, 1995],
        }
    )
    path = tmp_path / "movies.csv"
    movies.to_csv(path, index=False)
    with caplog.at_level("INFO", logger="mindrec.data.loaders.interactions"):
        catalogue = read_item_table(str(path), item_column="movieId")
    assert [(r.item_id, r.title, r.description, r.categories) for r in catalogue.records] == [
        ("1", "Toy Story (1995)", "Adventure, Animation, Children", ()),
        ("2", "Heat (1995)", "A heist. Action, Crime", ()),
        ("3", "Nixon (1995)", "(no genres listed)", ()),
    ]
    assert caplog.messages == [f"item table {path}: item columns used: movieId, title, description, genres; left out: year"]
    as_lists = read_item_table(Dataset.from_dict({"item_id": ["a"], "genre": [["Drama", " War "]]}))
    assert as_lists.records[0].description == "Drama, War"


def test_csv_parquet_and_a_local_dataset_folder(tmp_path):
    INTERACTIONS.to_csv(tmp_path / "interactions.csv", index=False)
    INTERACTIONS.to_parquet(tmp_path / "interactions.parquet", index=False)
    ITEMS.to_csv(tmp_path / "items.csv", index=False)
    folder = tmp_path / "hub_like" / "data"
    folder.mkdir(parents=True)
    INTERACTIONS.to_csv(folder / "train.csv", index=False)
    for source in (tmp_path / "interactions.csv", tmp_path / "interactions.parquet", tmp_path / "hub_like"):
        check(PreparedData.from_interactions(str(source), str(tmp_path / "items.csv")))
    assert detect_format(tmp_path / "interactions.parquet") == "interactions"
    assert detect_format(tmp_path / "hub_like") == "interactions"


def test_without_item_table_items_are_indexed_by_first_appearance_and_row_order_is_kept():
    data = PreparedData.from_interactions(INTERACTIONS, timestamp_column=None)
    assert data.item_ids == ["C", "A", "B", "E", "D"]
    # u1 in row order: C, A, D, B (indices 0, 1, 4, 2)
    assert rows(data, "test")[0] == ("u1", [0, 1, 4], 2)


def test_iso_timestamps_sort_as_times():
    frame = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["x", "y", "z"],
                          "timestamp": ["2014-03-02T00:00:00", "2014-03-01 08:00:00", "2014-02-28"]})  # fmt: skip
    assert rows(PreparedData.from_interactions(frame), "test") == [("u", [2, 1], 0)]


def test_clear_errors():
    with pytest.raises(DataFormatError, match=r"no column 'timestamp' \(timestamp_column\); the columns are \['user_id', 'item_id', 'time'\]\. Did you mean 'time'\?"):
        PreparedData.from_interactions(INTERACTIONS.rename(columns={"timestamp": "time"}))
    unsortable = INTERACTIONS.astype({"timestamp": str})
    unsortable.loc[3, "timestamp"] = "yesterday"
    with pytest.raises(DataFormatError, match=r"row 3: timestamp 'yesterday' in column 'timestamp' cannot be sorted"):
        PreparedData.from_interactions(unsortable)
    with pytest.raises(DataFormatError, match=r"2 item id\(s\) are missing from the item table DataFrame, e\.g\. \['C', 'E'\]"):
        PreparedData.from_interactions(INTERACTIONS, ITEMS[ITEMS["item_id"].isin(["A", "B", "D"])])
    with pytest.raises(ValueError, match=r"\['user_column'\] apply to data_format 'interactions'"):
        load_data(parse_arguments(TRAIN_ARGUMENT_TYPES, ["--data", "missing_dir", "--data_format", "amazon-beauty", "--user_column", "u"])[0])  # fmt: skip


def test_training_options_load_a_csv(tmp_path):
    INTERACTIONS.rename(columns={"timestamp": "ts"}).to_csv(tmp_path / "events.csv", index=False)
    ITEMS.to_csv(tmp_path / "items.csv", index=False)
    data_args = parse_arguments(
        TRAIN_ARGUMENT_TYPES,
        ["--data", str(tmp_path / "events.csv"), "--items", str(tmp_path / "items.csv"), "--timestamp-column", "ts"],
    )[0]
    check(load_data(data_args))


def test_numeric_ids_read_by_arrow_are_written_as_python_writes_them():
    """Integer ids and integral floats (pandas' integer column with a gap) become "10", as str(int(value)) would;
    other floats keep Python's spelling. Users and items are indexed in order of first row."""
    frame = pd.DataFrame(
        {
            "user_id": [7, 7, 7, 3, 3, 3],
            "item_id": [10.0, 20.0, 2.5, 20.0, 10.0, 30.0],
            "timestamp": [3.0, 1.0, 2.0, 1.0, 2.0, 3.0],
        }
    )
    data = PreparedData.from_interactions(frame)
    assert data.item_ids == ["10", "20", "2.5", "30"]
    assert rows(data, "test") == [("7", [1, 2], 0), ("3", [1, 0], 3)]


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("item_id", [1.0, None, 3.0], r"row 1: column 'item_id' is empty"),
        ("item_id", [1.0, 2.0, float("nan")], r"row 2: column 'item_id' is empty"),
        ("user_id", ["u", None, "u"], r"row 1: column 'user_id' is empty"),
        ("timestamp", [1.0, 2.0, float("nan")], r"row 2: timestamp column 'timestamp' holds a missing value \(NaN\)"),
        ("timestamp", [1, None, 3], r"row 1: timestamp column 'timestamp' holds None, not a time"),
    ],
)
def test_missing_ids_and_times_name_their_row(column, values, message):
    table = {"user_id": ["u", "u", "u"], "item_id": [1.0, 2.0, 3.0], "timestamp": [1, 2, 3], column: values}
    with pytest.raises(DataFormatError, match=message):
        PreparedData.from_interactions(Dataset.from_dict(table))
