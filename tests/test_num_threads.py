"""``--num_threads``: the main job's share of a machine's cores, set once for training, validation and test."""

from __future__ import annotations

import pytest
import torch
from training_support import tiny_arguments

from mindrec.pipeline import run
from mindrec.training.arguments import TRAIN_ARGUMENT_TYPES, TrainingArguments
from mindrec.training.config_loading import parse_arguments


@pytest.mark.parametrize("spelling", ["--num_threads", "--num-threads", "--threads"])
def test_the_option_is_read_under_every_spelling(spelling):
    assert parse_arguments(TRAIN_ARGUMENT_TYPES, [spelling, "3"])[3].num_threads == 3


def test_the_default_is_unset_and_bad_counts_are_refused():
    assert TrainingArguments().num_threads is None
    with pytest.raises(ValueError, match=r"`num_threads` must be > 0, got 0\."):
        TrainingArguments(num_threads=0)
    with pytest.raises(ValueError, match=r"`num_threads` must be int, got 1\.5"):
        TrainingArguments(num_threads=1.5)


def test_run_sets_the_thread_count_once_when_given_and_never_when_unset(tmp_path, monkeypatch):
    calls = []
    # Recorded, not applied: the test process keeps its own thread count.
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    run(*tiny_arguments(tmp_path / "run", max_steps=1, num_threads=1, do_test=False))
    assert calls == [1]
    calls.clear()
    run(*tiny_arguments(tmp_path / "default", max_steps=1, do_test=False))
    assert calls == []
