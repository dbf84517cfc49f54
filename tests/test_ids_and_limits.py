"""Ambiguous ids and quiet cuts: items say what they are, limits are errors, ids are what they look like."""

from __future__ import annotations

import copy
import json
import os
import stat

import numpy as np
import pytest
import torch
from hub_support import CODE_TABLE, make_tokenizer
from test_output_safety import REPO, run_script
from tiny import tiny_model

from mindrec.data.errors import DataFormatError
from mindrec.data.loaders.amazon_beauty import load_amazon_beauty
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer, write_item_codes

TRAIN = REPO / "scripts" / "train.py"


def numeric_tokenizer(**options) -> MindRecTokenizer:
    """The hub table with Amazon-Beauty-like ids "1" .. "8" (row i holds id str(i + 1))."""
    table = copy.deepcopy(CODE_TABLE)
    table["item_ids"] = [str(row + 1) for row in range(len(table["item_ids"]))]
    return MindRecTokenizer.from_code_table(table, **options)


def same(left, right) -> bool:
    return left.keys() == right.keys() and all(torch.equal(left[key], right[key]) for key in left)


def test_ints_are_refused_when_the_catalogue_ids_look_like_integers():
    tokenizer = numeric_tokenizer()
    with pytest.raises(ValueError, match=r"the int 1 is ambiguous: this catalogue's item ids look like integers"):
        tokenizer([[1, 2, 3]])  # raw ids of sequences.txt used to come back shifted by one
    as_ids = tokenizer([[1, 2, 3]], targets=[4], items="ids")
    assert same(as_ids, tokenizer([["1", "2", "3"]], targets=["4"]))
    as_indices = tokenizer([[1, 2, 3]], targets=[4], items="indices")
    assert same(as_indices, tokenizer([["2", "3", "4"]], targets=["5"]))
    with pytest.raises(TypeError, match=r"items='indices' but got the item id '1'"):
        tokenizer([["1"]], items="indices")
    with pytest.raises(ValueError, match=r"unknown item id '9'"):
        tokenizer([[9]], items="ids")
    with pytest.raises(ValueError, match=r"items must be None, 'ids' or 'indices', got 'id'"):
        tokenizer([["1"]], items="id")
    # Ids that do not look like integers leave ints unambiguous: they are indices, as before.
    hub = make_tokenizer()
    assert same(hub([[1, 2]]), hub([["B002", "B003"]]))


def test_numpy_integers_and_arrays_are_accepted_where_ints_and_lists_are():
    tokenizer = make_tokenizer()
    expected = tokenizer([[0, 1], [2, 3]], targets=[4, 5], template_index=0, max_history=1)
    got = tokenizer(
        np.array([[0, 1], [2, 3]]), targets=np.array([4, 5]), template_index=np.int64(0), max_history=np.int64(1)
    )
    assert same(got, expected)
    assert same(tokenizer([np.array([0, 1]), [np.int32(2)]]), tokenizer([[0, 1], [2]]))
    assert same(tokenizer(torch.tensor([[0, 1]])), tokenizer([[0, 1]]))


def test_max_history_none_at_call_time_keeps_every_item_as_in_the_constructor():
    history = [[0, 1, 2, 3, 4, 5]]
    limited = MindRecTokenizer.from_code_table(CODE_TABLE, max_history=2)
    unlimited = MindRecTokenizer.from_code_table(CODE_TABLE, max_history=None)
    assert same(limited(history, max_history=None), unlimited(history))
    assert same(limited(history), unlimited(history, max_history=2))  # not given: the tokenizer's own
    assert limited(history)["input_ids"].shape[1] == 1 + 2 * 5 + 1 + 5


def test_a_history_longer_than_the_model_allows_is_an_error():
    tokenizer = MindRecTokenizer.from_code_table(CODE_TABLE, max_history=None)
    model = tiny_model(**tokenizer.model_config_kwargs(), max_position_embeddings=64)
    fits = tokenizer([[0, 1, 2, 3, 4] * 2])  # 1 + 50 + 1 + 5 = 57 positions
    model.generate(**fits, catalogue=tokenizer.item_codes, num_beams=2, num_return_items=2)
    too_long = tokenizer([list(range(8)) * 2])  # 1 + 80 + 1 + 5 = 87 positions
    message = r"The input has 87 positions \(prompt \+ canvas\) but the model allows max_position_embeddings=64"
    with pytest.raises(ValueError, match=message):
        model.generate(**too_long, catalogue=tokenizer.item_codes, num_beams=2, num_return_items=2)
    with pytest.raises(ValueError, match=message):
        model(**too_long)


def test_train_refuses_k_larger_than_the_catalogue_before_the_first_step(tmp_path):
    output_dir = tmp_path / "run"
    result = run_script(
        TRAIN, "--output_dir", str(output_dir), "--synthetic_num_users", "80", "--synthetic_num_items", "60",
        "--num_return_items", "70", "--num_beams", "70", "--eval_ks", "1", "70", "--selection_metric", "ndcg@70",
    )  # fmt: skip
    assert result.returncode == 1
    assert "num_return_items (K = 70) is larger than the catalogue (60 items)" in result.stderr
    assert list(output_dir.iterdir()) == []  # no code table, no checkpoint, no lock left behind


@pytest.fixture
def beauty(tmp_path):
    folder = tmp_path / "beauty"
    folder.mkdir()
    (folder / "sequences.txt").write_text("1 1 2 3\n2 2 3 1\n")
    (folder / "items.jsonl").write_text("".join(json.dumps({"item_id": i}) + "\n" for i in (1, 2, 3)))
    return folder


def test_ids_with_underscores_are_not_integers(beauty):
    (beauty / "sequences.txt").write_text("1 1_2 3\n")
    with pytest.raises(DataFormatError, match=r"sequences.txt, line 1: item id must be an integer, got '1_2' \(ASCII digits only\)"):
        load_amazon_beauty(beauty)
    (beauty / "items.jsonl").write_text(json.dumps({"item_id": "1_2"}) + "\n")
    with pytest.raises(DataFormatError, match=r"items.jsonl, line 1: item_id must be an integer, got '1_2'"):
        load_amazon_beauty(beauty)


@pytest.mark.parametrize("name", ["sequences.txt", "items.jsonl"])
def test_a_utf8_bom_gets_the_same_clear_error_in_either_file(beauty, name):
    path = beauty / name
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(DataFormatError, match=rf"{name}, line 1: the file starts with a UTF-8 byte-order mark"):
        load_amazon_beauty(beauty)


def test_item_codes_json_gets_the_umask_mode(tmp_path):
    previous = os.umask(0o027)
    try:
        write_item_codes(tmp_path / "item_codes.json", CODE_TABLE)
        make_tokenizer().save_pretrained(tmp_path / "tokenizer")
    finally:
        os.umask(previous)
    for path in (tmp_path / "item_codes.json", tmp_path / "tokenizer" / "item_codes.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640  # was 0o600 (mkstemp's), whatever the umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["item_codes.json", "tokenizer"]


def test_a_warning_counts_the_targets_exclude_history_hides(caplog):
    import pandas as pd

    from mindrec.data import PreparedData
    from mindrec.pipeline import repeated_targets, warn_unreachable_targets

    # u1 = A B A C (validation target A is in its history A B), u2 = A B C B (test target B is in A B C), u3 none.
    sequences = {"u1": "ABAC", "u2": "ABCB", "u3": "ABCD"}
    events = pd.DataFrame([(user, item) for user, items in sequences.items() for item in items], columns=["user_id", "item_id"])
    data = PreparedData.from_interactions(events, timestamp_column=None)
    assert repeated_targets(data) == {"validation": (1, 3), "test": (1, 3)}

    def warnings():  # only this function's lines (an earlier run's logging setup may pass the loaders' info lines on)
        return [record.getMessage() for record in caplog.records if record.name == "mindrec.pipeline"]

    with caplog.at_level("WARNING", logger="mindrec.pipeline"):
        warn_unreachable_targets(data, exclude_history=False)
        assert warnings() == []
        warn_unreachable_targets(data, exclude_history=True)
    assert warnings() == [
        "exclude_history=True, but 1 of 3 validation targets (33.3%) and 1 of 3 test targets (33.3%) repeat an item of "
        "their user's history: no recommendation can reach them (exclude_history=False lets history items be "
        "recommended)."
    ]
    caplog.clear()
    without_repeats = PreparedData.from_interactions(events[events.user_id == "u3"], timestamp_column=None)
    with caplog.at_level("WARNING", logger="mindrec.pipeline"):
        warn_unreachable_targets(without_repeats, exclude_history=True)
    assert warnings() == []
