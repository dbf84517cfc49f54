"""Runs you can watch: --report_to trackers through accelerate (off by default), a clear error without the package."""

from __future__ import annotations

import importlib

import accelerate.utils
import pytest
from training_support import tiny_arguments

from mindrec.pipeline import run
from mindrec.training.arguments import TrainingArguments
from mindrec.training.tracking import tracker_options


def test_trackers_are_off_by_default():
    assert TrainingArguments().report_to == []
    assert tracker_options([], "runs/x") == {}


def test_a_missing_tracker_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(accelerate.utils, "is_tensorboard_available", lambda: False)
    with pytest.raises(ValueError, match=r'--report_to tensorboard needs the tensorboard package, which is not installed: pip install tensorboard \(or pip install "mindrec\[tracking\]"\)\.'):
        TrainingArguments(report_to=["tensorboard"])
    with pytest.raises(ValueError, match=r"`report_to` holds 'tensorbord'; the trackers are \["):
        TrainingArguments(report_to=["tensorbord"])


@pytest.mark.parametrize("value", [None, "tensorboard"])
def test_report_to_that_is_not_a_list_is_refused(value):
    # YAML's null, or a bare name that would be read one letter at a time.
    with pytest.raises(ValueError, match=r"`report_to` must be a list of str, got "):
        TrainingArguments(report_to=value)


def test_tensorboard_receives_the_loss_and_validation_metrics(tmp_path):
    pytest.importorskip("tensorboard", reason='--report_to tensorboard needs pip install "mindrec[tracking]"')
    # Imported by name, after the skip: tensorboard is the optional `tracking` extra, not a test requirement.
    EventAccumulator = importlib.import_module("tensorboard.backend.event_processing.event_accumulator").EventAccumulator

    arguments = tiny_arguments(tmp_path / "run", max_steps=4, logging_steps=2, eval_steps=2, report_to=["tensorboard"], do_test=False)
    result = run(*arguments)
    # accelerate's TensorBoard tracker: output_dir/logs/<run name = output_dir's name>/ (hparams in a subfolder)
    events = EventAccumulator(str(tmp_path / "run" / "logs" / "run"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss", "train/learning_rate", "validation/ndcg@5", "validation/hr@1"} <= set(scalars)
    assert [event.step for event in events.Scalars("train/loss")] == [2, 4]
    assert [event.step for event in events.Scalars("validation/ndcg@5")] == [entry["step"] for entry in result.train.validation]
    assert [event.value for event in events.Scalars("validation/ndcg@5")] == pytest.approx(
        [entry["ndcg@5"] for entry in result.train.validation]
    )
