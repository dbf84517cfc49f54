"""scripts/prepare_data.py: the CLI over the loaders."""

from __future__ import annotations

import json

import pytest
from script_support import load_script

from mindrec.data import load_prepared


@pytest.fixture(scope="module")
def prepare_data():
    return load_script("prepare_data")


@pytest.fixture
def beauty_folder(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "sequences.txt").write_text("1 1 2 3 4 5\n2 3 4 5 6\n")
    (folder / "items.jsonl").write_text(
        "".join(json.dumps({"item_id": i, "title": f"t{i}"}) + "\n" for i in range(1, 8))
    )
    return folder


def test_prepare_writes_folder_stats_and_prints_summary(prepare_data, beauty_folder, tmp_path, capsys):
    out, stats_path = tmp_path / "out", tmp_path / "stats" / "s.json"
    stats = prepare_data.main(
        [
            "--input",
            str(beauty_folder),
            "--max-history",
            "2",
            "--max-users",
            "1",
            "--output",
            str(out),
            "--stats-json",
            str(stats_path),
        ]
    )
    expected = {
        "name": "tiny",
        "users": 1,
        "items": 7,
        "interactions": 5,
        "train_rows": 2,
        "validation_rows": 1,
        "test_rows": 1,
    }
    assert {k: v for k, v in stats.items() if k != "seconds"} == expected
    assert json.loads(stats_path.read_text()) == stats
    printed = capsys.readouterr().out
    for key in ("users", "items", "interactions", "train_rows", "validation_rows", "test_rows", "seconds"):
        assert f"{key}: " in printed
    loaded = load_prepared(out)
    assert loaded.splits["test"][0] == {"user_id": "1", "history": [2, 3], "target": 4}


def test_drop_unused_items_flag(prepare_data, beauty_folder, tmp_path):
    stats = prepare_data.main(
        ["--input", str(beauty_folder), "--drop-unused-items", "--output", str(tmp_path / "o")]
    )
    assert stats["items"] == 6


def test_foreign_options_are_rejected(prepare_data, beauty_folder, tmp_path):
    with pytest.raises(SystemExit, match="--kcore applies to --format amazon-raw, not amazon-beauty"):
        prepare_data.main(["--input", str(beauty_folder), "--kcore", "5", "--output", str(tmp_path / "o")])
    with pytest.raises(SystemExit):
        prepare_data.main(
            ["--input", str(beauty_folder), "--max-users", "0", "--output", str(tmp_path / "o")]
        )
    assert not (tmp_path / "o").exists()
