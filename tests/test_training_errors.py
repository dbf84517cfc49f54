"""Bad input fails early with a message naming what is wrong."""

import pytest
from training_support import tiny_arguments

from mindrec.pipeline import build_run
from mindrec.training.data_setup import align_code_table
from mindrec.training.trainer import make_accelerator

TABLE = {"item_ids": ["a", "b", "c"], "codes": [[0, 1], [1, 0], [1, 1]], "code_slot_sizes": [2, 2]}


def test_code_table_is_reordered_to_the_dataset_item_index():
    aligned = align_code_table(TABLE, ["c", "a"])
    assert aligned["item_ids"] == ["c", "a"] and aligned["codes"] == [[1, 1], [0, 1]]
    assert TABLE["item_ids"] == ["a", "b", "c"]  # the input is not modified


def test_dataset_items_missing_from_the_code_table_are_named(tmp_path):
    with pytest.raises(
        ValueError, match=r"codes.json: 2 of the dataset's 3 items have no code, e.g. \['x', 'y'\]"
    ):
        align_code_table(TABLE, ["x", "a", "y"], source="codes.json")
    first = tiny_arguments(tmp_path / "small", max_steps=1)
    build_run(*first, make_accelerator("no"))  # writes tmp_path/small/item_codes.json for 60 items
    table = tmp_path / "small" / "item_codes.json"
    bigger = tiny_arguments(tmp_path / "big", max_steps=1, synthetic_num_items=64, code_table=str(table))
    with pytest.raises(
        ValueError,
        match=r"item_codes.json: 4 of the dataset's 64 items have no code, e.g. \['I00060', 'I00061', 'I00062', 'I00063'\]",
    ):
        build_run(*bigger, make_accelerator("no"))


def test_missing_code_table_file_is_named(tmp_path):
    arguments = tiny_arguments(tmp_path, max_steps=1, code_table=str(tmp_path / "nowhere.json"))
    with pytest.raises(FileNotFoundError, match="nowhere.json does not exist"):
        build_run(*arguments, make_accelerator("no"))
