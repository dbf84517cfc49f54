"""scripts/benchmark_data_scale.py: its synthetic MovieLens files load, and what it reports is what the stages give."""

from __future__ import annotations

import pytest
from script_support import load_script

from mindrec.baselines.popularity import decoding_counts
from mindrec.data.loaders.movielens import load_movielens


@pytest.fixture(scope="module")
def scale():
    return load_script("benchmark_data_scale")


def test_synthetic_movielens_and_its_stage_report(scale, tmp_path):
    users, movies = scale.write_movielens(tmp_path / "ml", 20_000, seed=0)
    data = load_movielens(tmp_path / "ml")
    assert (len(data.sequences), len(data.catalogue)) == (users, movies) == (121, 524)  # 6,040 users per 1M ratings; 3,706 movies x sqrt(0.02)
    assert min(len(sequence.items) for sequence in data.sequences) >= 20  # MovieLens' minimum
    assert all(len(set(sequence.items)) == len(sequence.items) for sequence in data.sequences)  # no movie rated twice
    report = scale.measure_stages(str(tmp_path / "ml"), max_history=20, gap_decay=0.5)
    prepared = data.to_prepared(max_history=20)
    counts = decoding_counts(prepared.splits, prepared.num_items, "test", 0.5)["transition_counts"]
    assert report["train_rows"] == len(prepared.splits["train"])
    assert report["pairs"] == counts._nnz()
    assert list(report["stages"]) == ["start", "read", "splits", "transitions"]
