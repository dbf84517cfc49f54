"""The run's history: early stopping on validation with a patience, metrics.json, learning curves."""

import json

import pytest
from training_support import tiny_arguments

from mindrec.pipeline import build_run
from mindrec.training.run_history import METRICS_FILE, plot_learning_curves
from mindrec.training.trainer import Trainer, make_accelerator


def make_trainer(output_dir, scores, **overrides):
    """A tiny trainer whose validation returns ``scores`` in turn (as ndcg@5), one per validation."""
    arguments = tiny_arguments(output_dir, **{"eval_steps": 2, "save_steps": 100, "logging_steps": 1, **overrides})
    _, _, _, train_args, eval_args = arguments
    accelerator = make_accelerator("no")
    data, model, _, _, task, signature = build_run(*arguments, accelerator)
    saved = []
    trainer = Trainer(
        model, task, data.splits["train"], data.splits["validation"], train_args, eval_args, signature,
        save_model=lambda directory, _model: saved.append(directory.name), accelerator=accelerator,
    )
    pending = list(scores)
    trainer._validate = lambda step: {"ndcg@5": pending.pop(0)}
    return trainer, saved


def test_evals_per_epoch_spaces_the_validations_evenly_in_every_epoch(tmp_path):
    trainer, _ = make_trainer(tmp_path, [], eval_steps=None, evals_per_epoch=2, max_steps=20)
    trainer.steps_per_epoch = 514  # Beauty's epoch at batch 256: the same steps as eval_steps 257
    assert [step for step in range(1, 1543) if trainer._validates_at(step)] == [257, 514, 771, 1028, 1285, 1542]
    trainer.steps_per_epoch = 515  # the k-th validation follows the step reaching k/2 of the epoch; the last ends it
    assert [step for step in range(1, 1031) if trainer._validates_at(step)] == [258, 515, 773, 1030]
    trainer.args.evals_per_epoch = 3
    trainer.steps_per_epoch = 2  # more validations than steps: after every step
    assert [step for step in range(1, 5) if trainer._validates_at(step)] == [1, 2, 3, 4]
    trainer.args.evals_per_epoch = None
    trainer.steps_per_epoch = 5  # neither option: at the end of every epoch
    assert [step for step in range(1, 16) if trainer._validates_at(step)] == [5, 10, 15]


def test_a_run_with_evals_per_epoch_validates_where_it_says(tmp_path):
    trainer, _ = make_trainer(tmp_path, [0.1] * 20, eval_steps=None, evals_per_epoch=2, max_steps=20)
    epoch = trainer.steps_per_epoch
    assert epoch >= 2  # the tiny data give several steps an epoch, so the half-epoch validation is a step of its own
    output = trainer.train()
    expected = sorted({e * epoch + k for e in range(20 // epoch + 1) for k in (-(-epoch // 2), epoch)} | {20})
    assert [entry["step"] for entry in output.validation] == [step for step in expected if step <= 20]


def test_eval_steps_and_evals_per_epoch_are_exclusive():
    from mindrec.training.arguments import TrainingArguments

    with pytest.raises(ValueError, match=r"Set one of `eval_steps` \(10\) and `evals_per_epoch` \(2\), not both"):
        TrainingArguments(eval_steps=10, evals_per_epoch=2)
    with pytest.raises(ValueError, match="evals_per_epoch"):
        TrainingArguments(evals_per_epoch=0)


def test_patience_stops_after_that_many_validations_without_a_new_best(tmp_path):
    # Validations at steps 2, 4, 6, 8 ...: best at step 4, then two without improvement -> stop at 8.
    trainer, saved = make_trainer(tmp_path, [0.1, 0.3, 0.3, 0.2, 0.9], max_steps=20, early_stopping_patience=2)
    output = trainer.train()
    assert output.stopped_by_patience and not output.stopped_early
    assert output.global_step == 8 and output.best_step == 4 and output.best_metric == 0.3
    assert [entry["step"] for entry in output.validation] == [2, 4, 6, 8]
    assert saved == ["best", "best", "final"]  # best at steps 2 and 4, final/ still written
    history = json.loads((tmp_path / METRICS_FILE).read_text())
    assert history["best_step"] == 4 and history["stopped_by_patience"] is True
    assert [entry["step"] for entry in history["loss"]] == list(range(1, 9))
    assert all(entry["loss"] > 0 and entry["learning_rate"] > 0 for entry in history["loss"])
    seconds = [entry["seconds"] for entry in history["validation"]]
    assert seconds == sorted(seconds) and [entry["ndcg@5"] for entry in history["validation"]] == [0.1, 0.3, 0.3, 0.2]


def test_without_patience_training_runs_to_the_end(tmp_path):
    trainer, _ = make_trainer(tmp_path, [0.3, 0.2, 0.1, 0.0], max_steps=8)
    output = trainer.train()
    assert output.global_step == 8 and not output.stopped_by_patience and output.best_step == 2


def test_patience_never_cuts_the_last_step(tmp_path):
    trainer, _ = make_trainer(tmp_path, [0.3, 0.2, 0.1], max_steps=6, early_stopping_patience=2)
    output = trainer.train()
    assert output.global_step == 6 and not output.stopped_by_patience


def test_time_budget_ends_training_at_the_step_that_spends_it(tmp_path):
    # Any step takes longer than the budget (a microsecond): step 1 is validated, saved and is the last.
    trainer, saved = make_trainer(tmp_path, [0.4], max_steps=20, max_train_minutes=1e-8)
    output = trainer.train()
    assert output.stopped_by_time and not output.stopped_by_patience and not output.stopped_early
    assert output.global_step == 1 and output.best_step == 1 and output.best_metric == 0.4
    assert [entry["step"] for entry in output.validation] == [1]
    assert saved == ["best", "final"]
    assert json.loads((tmp_path / METRICS_FILE).read_text())["stopped_by_time"] is True


def test_time_budget_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="max_train_minutes"):
        tiny_arguments(tmp_path, max_train_minutes=0)


def test_learning_curves_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="learning-curve plots need the optional 'bench' extra")
    curves = {
        "a": [{"step": 10, "seconds": 1.0, "ndcg@10": 0.1}, {"step": 20, "seconds": 2.0, "ndcg@10": 0.2}],
        "b": [{"step": 10, "seconds": 3.0, "ndcg@10": 0.05}],
    }
    path = plot_learning_curves(curves, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="ndcg@10"):
        plot_learning_curves({"a": [{"step": 1, "hr@1": 0.1}]}, tmp_path / "none.png")
