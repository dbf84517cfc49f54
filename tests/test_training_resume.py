"""Checkpoints: exact resume, a kill while writing leaves the previous checkpoint usable, clear errors."""

import json

import pytest
import torch
from training_support import tiny_arguments

from mindrec.data import load_prepared, make_synthetic_dataset
from mindrec.pipeline import build_run
from mindrec.training.checkpointing import (
    data_fingerprint,
    list_checkpoints,
    read_trainer_state,
    resolve_checkpoint,
)
from mindrec.training.model_unwrap import unwrap_task_model
from mindrec.training.trainer import Trainer, make_accelerator

STEPS = 8


class SimulatedKill(BaseException):
    """Stands for SIGKILL: nothing in the trainer catches it, so no cleanup runs."""


@pytest.fixture(scope="module")
def code_table(tmp_path_factory):
    """Build the tiny run's item codes once; every trainer below reads them."""
    folder = tmp_path_factory.mktemp("codes")
    arguments = tiny_arguments(folder, max_steps=1)
    build_run(*arguments, make_accelerator("no"))
    return folder / "item_codes.json"


def make_trainer(output_dir, code_table, save_model=None, **overrides):
    options = {
        "max_steps": STEPS,
        "save_steps": 4,
        "eval_steps": 4,
        "code_table": None if code_table is None else str(code_table),
        **overrides,
    }
    arguments = tiny_arguments(output_dir, **options)
    _, _, _, train_args, eval_args = arguments
    accelerator = make_accelerator("no")
    data, model, _, _, task, signature = build_run(*arguments, accelerator)
    saved = []
    return Trainer(
        model,
        task,
        data.splits["train"],
        data.splits["validation"],
        train_args,
        eval_args,
        signature,
        save_model=save_model or (lambda directory, _model: saved.append(directory.name)),
        accelerator=accelerator,
    )


def weights(trainer):
    return {key: value.clone() for key, value in unwrap_task_model(trainer.model).state_dict().items()}


def scores(output):
    return [
        {key: value for key, value in entry.items() if key not in ("users_per_second", "seconds")}
        for entry in output.validation
    ]


@pytest.fixture(scope="module")
def straight(tmp_path_factory, code_table):
    trainer = make_trainer(tmp_path_factory.mktemp("straight"), code_table)
    output = trainer.train()
    return trainer, output


def assert_same_run(trainer, output, straight):
    reference_trainer, reference = straight
    assert output.global_step == reference.global_step == STEPS
    expected = weights(reference_trainer)
    for key, value in weights(trainer).items():
        assert torch.equal(value, expected[key]), key
    assert scores(output) == scores(reference)
    assert (output.best_step, output.best_metric) == (reference.best_step, reference.best_metric)


def test_interrupted_then_resumed_run_equals_an_uninterrupted_one(tmp_path, code_table, straight):
    first = make_trainer(tmp_path, code_table).train(stop_at_step=STEPS // 2)
    assert first.stopped_early and first.global_step == STEPS // 2 and first.final_dir is None
    state = read_trainer_state(resolve_checkpoint("latest", tmp_path))
    assert (state["global_step"], state["num_processes"], state["total_steps"]) == (4, 1, STEPS)

    resumed = make_trainer(tmp_path, code_table, resume_from_checkpoint="latest")  # a fresh Trainer and model
    output = resumed.train()
    assert_same_run(resumed, output, straight)
    assert [entry["step"] for entry in output.validation] == [4, 8]  # the first half's validation is kept


def test_kill_while_writing_a_checkpoint_keeps_the_previous_one_usable(tmp_path, code_table, straight):
    trainer = make_trainer(tmp_path, code_table, save_steps=2)
    original, calls = trainer.accelerator.save_state, []

    def dies_in_second_save(output_dir=None, **kwargs):
        calls.append(output_dir)
        original(output_dir, **kwargs)
        if len(calls) == 2:
            (tmp_path / "checkpoints" / ".checkpoint-00000004.tmp" / "optimizer.bin").unlink()  # half written
            raise SimulatedKill

    trainer.accelerator.save_state = dies_in_second_save
    with pytest.raises(SimulatedKill):
        trainer.train()
    root = tmp_path / "checkpoints"
    assert sorted(path.name for path in root.iterdir()) == [".checkpoint-00000004.tmp", "checkpoint-00000002"]
    assert [path.name for path in list_checkpoints(root)] == ["checkpoint-00000002"]
    assert resolve_checkpoint("latest", tmp_path).name == "checkpoint-00000002"

    resumed = make_trainer(tmp_path, code_table, save_steps=2, resume_from_checkpoint="latest")
    output = resumed.train()
    assert_same_run(resumed, output, straight)
    assert sorted(path.name for path in root.iterdir()) == ["checkpoint-00000006", "checkpoint-00000008"]


def test_resume_errors_are_clear(tmp_path, code_table, straight):
    reference_trainer, _ = straight
    output_dir = reference_trainer.output_dir
    with pytest.raises(
        ValueError,
        match=r"different model:\n  config.head_dim: checkpoint 8, this run 16\n  config.hidden_size: checkpoint 16, this run 32$",
    ):
        make_trainer(output_dir, code_table, hidden_size=32, resume_from_checkpoint="latest").train()
    with pytest.raises(
        ValueError, match=r"cannot be resumed exactly.*\n  train_batch_size: checkpoint 32, this run 16"
    ):
        make_trainer(output_dir, code_table, train_batch_size=16, resume_from_checkpoint="latest").train()
    with pytest.raises(
        ValueError,
        match=r"already holds checkpoints \(checkpoint-00000008\); pass --resume_from_checkpoint latest",
    ):
        make_trainer(output_dir, code_table).train()
    with pytest.raises(FileNotFoundError, match=r"holds no complete checkpoint"):
        make_trainer(tmp_path, code_table, resume_from_checkpoint="latest").train()
    with pytest.raises(
        FileNotFoundError, match=r"is not a complete training checkpoint \(trainer_state.json not found\)"
    ):
        make_trainer(tmp_path, code_table, resume_from_checkpoint=str(tmp_path)).train()


# ------------------------------------------------------------------------------------------------------
# Resume checks the whole run, and never unpickles anything that can run code.


class PlantedPayload:
    """Unpickling it creates the folder ``marker`` (stands for os.system & co)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


@pytest.fixture
def stopped(tmp_path, code_table):
    """An output_dir whose run stopped at step 4 (one complete checkpoint), and that checkpoint."""
    make_trainer(tmp_path, code_table).train(stop_at_step=STEPS // 2)
    return tmp_path, resolve_checkpoint("latest", tmp_path)


def test_checkpoints_hold_no_pickled_objects_and_the_scheduler_as_json(stopped):
    _, checkpoint = stopped
    assert not list(checkpoint.glob("custom_checkpoint_*"))
    lr_state = read_trainer_state(checkpoint)["lr_scheduler"]
    assert (lr_state["last_epoch"], lr_state["_step_count"]) == (STEPS // 2, STEPS // 2 + 1)


def test_a_planted_scheduler_pickle_is_refused_unopened(stopped, code_table, straight, tmp_path_factory):
    output_dir, checkpoint = stopped
    marker = tmp_path_factory.mktemp("planted") / "pwned"
    planted = checkpoint / "custom_checkpoint_0.pkl"  # what accelerate used to unpickle with weights_only=False
    torch.save(PlantedPayload(marker), planted)
    with pytest.raises(ValueError, match=r"holds pickled objects \['custom_checkpoint_0.pkl'\].*refusing to resume"):
        make_trainer(output_dir, code_table, resume_from_checkpoint="latest").train()
    assert not marker.exists()
    planted.unlink()
    resumed = make_trainer(output_dir, code_table, resume_from_checkpoint="latest")
    assert_same_run(resumed, resumed.train(), straight)  # the JSON scheduler state resumes exactly


@pytest.mark.parametrize(
    ("name", "error"),
    [("random_states_0.pkl", "is not a plain RNG state"), ("optimizer.bin", "Weights only load failed")],
)
def test_a_planted_optimizer_or_rng_pickle_is_refused(stopped, code_table, tmp_path_factory, name, error):
    output_dir, checkpoint = stopped
    marker = tmp_path_factory.mktemp("planted") / "pwned"
    torch.save(PlantedPayload(marker), checkpoint / name)
    with pytest.raises(Exception, match=error):
        make_trainer(output_dir, code_table, resume_from_checkpoint="latest").train()
    assert not marker.exists()


def test_an_old_checkpoint_with_a_pickled_scheduler_is_refused(stopped, code_table):
    output_dir, checkpoint = stopped
    state = read_trainer_state(checkpoint)
    del state["lr_scheduler"]
    (checkpoint / "trainer_state.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"has no 'lr_scheduler'.*never unpickled"):
        make_trainer(output_dir, code_table, resume_from_checkpoint="latest").train()


def test_resume_with_another_code_table_is_refused_before_item_codes_json_is_written(stopped, code_table):
    output_dir, _ = stopped
    (output_dir / "item_codes.json").write_bytes(code_table.read_bytes())  # the run's table, as train.py writes it
    before = (output_dir / "item_codes.json").read_bytes()
    # The case: --code_seed 7 builds a different table for the same items.
    with pytest.raises(ValueError, match=r"trained on a different code table \(code_table_sha256: checkpoint"):
        make_trainer(output_dir, None, code_seed=7, resume_from_checkpoint="latest")
    assert (output_dir / "item_codes.json").read_bytes() == before


def test_resume_on_other_data_is_refused(stopped, code_table):
    output_dir, _ = stopped
    with pytest.raises(ValueError, match=r"different model:\n  data_sha256: checkpoint '[0-9a-f]{64}', this run"):
        make_trainer(output_dir, code_table, synthetic_seed=5, resume_from_checkpoint="latest").train()


def test_data_fingerprint_is_the_content_not_the_storage(tmp_path):
    data = make_synthetic_dataset(num_users=40, num_items=30, seed=0, max_history=5)
    data.save_to_disk(tmp_path / "prepared")
    assert data_fingerprint(load_prepared(tmp_path / "prepared")) == data_fingerprint(data)
    other = make_synthetic_dataset(num_users=40, num_items=30, seed=1, max_history=5)
    assert data_fingerprint(other) != data_fingerprint(data)
    fewer = make_synthetic_dataset(num_users=40, num_items=30, seed=0, max_history=4)
    assert data_fingerprint(fewer) != data_fingerprint(data)



def whole_field_fingerprint(data) -> str:
    """The fingerprint's definition, each field hashed whole (how its first version computed it)."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()

    def add(label, payload):
        digest.update(f"{label}:{len(payload)}:".encode() + payload)

    add("item_ids", "\0".join(data.item_ids).encode())
    for name in sorted(data.splits):
        split = data.splits[name]
        add(f"{name}.user_id", "\0".join(split["user_id"]).encode())
        add(f"{name}.history_lengths", np.array([len(h) for h in split["history"]], dtype=np.int64).tobytes())
        add(f"{name}.history", np.array([i for h in split["history"] for i in h], dtype=np.int64).tobytes())
        add(f"{name}.target", np.array(split["target"], dtype=np.int64).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("rows_per_slice", [1, 7, 1 << 18])
def test_data_fingerprint_read_in_slices_is_the_whole_field_digest(monkeypatch, rows_per_slice):
    """Checkpoints made before the fingerprint was read a slice at a time still resume: the digest is unchanged."""
    data = make_synthetic_dataset(num_users=40, num_items=30, seed=0, max_history=5)
    monkeypatch.setattr("mindrec.training.checkpointing.FINGERPRINT_ROWS", rows_per_slice)
    assert data_fingerprint(data) == whole_field_fingerprint(data)

# ------------------------------------------------------------------------------------------------------
# The weight average (ema_decay): what validation and best/ / final/ read, and its exact resume.

EMA = 0.5


def saved_weights(into):
    """A save_model that records the weights each folder would receive."""
    return lambda directory, model: into.setdefault(directory.name, []).append(
        {key: value.clone() for key, value in unwrap_task_model(model).state_dict().items()}
    )


def test_validation_and_saved_models_read_the_weight_average(tmp_path, code_table, straight):
    saved = {}
    trainer = make_trainer(tmp_path, code_table, save_model=saved_weights(saved), ema_decay=EMA)
    validate, seen = trainer._validate, []

    def recording_validate(step):
        seen.append({key: value.clone() for key, value in unwrap_task_model(trainer.model).state_dict().items()})
        return validate(step)

    trainer._validate = recording_validate
    output = trainer.train()
    average = trainer._average
    assert average.num_updates == STEPS
    averaged = dict(zip(average.names, average.averages, strict=True))
    raw = weights(trainer)
    assert any(not torch.equal(raw[name], value) for name, value in averaged.items())  # the average moved apart
    for name, value in averaged.items():
        assert torch.equal(saved["final"][-1][name], value), name  # final/ holds the average
        assert torch.equal(seen[-1][name], value), name  # so does the last validation's model
    # without the average the same run validates the raw weights: other scores
    assert scores(output) != scores(straight[1])
    # best/ holds the average of its validation step, the weights that validation scored
    best_index = [entry["step"] for entry in output.validation].index(output.best_step)
    for name in averaged:
        assert torch.equal(saved["best"][-1][name], seen[best_index][name]), name


def test_a_run_with_a_weight_average_resumes_exactly(tmp_path_factory, code_table):
    reference = make_trainer(tmp_path_factory.mktemp("ema-straight"), code_table, ema_decay=EMA)
    expected = reference.train()
    folder = tmp_path_factory.mktemp("ema-resumed")
    make_trainer(folder, code_table, ema_decay=EMA).train(stop_at_step=STEPS // 2)
    assert (resolve_checkpoint("latest", folder) / "weight_average.safetensors").is_file()
    resumed = make_trainer(folder, code_table, ema_decay=EMA, resume_from_checkpoint="latest")
    output = resumed.train()
    assert_same_run(resumed, output, (reference, expected))
    assert resumed._average.num_updates == STEPS
    for value, target in zip(resumed._average.averages, reference._average.averages, strict=True):
        assert torch.equal(value, target)


def test_the_weight_average_setting_must_match_the_checkpoint(stopped, code_table):
    output_dir, _ = stopped  # written without a weight average
    with pytest.raises(ValueError, match=r"cannot be resumed exactly.*\n  ema_decay: checkpoint None, this run 0.5"):
        make_trainer(output_dir, code_table, ema_decay=EMA, resume_from_checkpoint="latest").train()
