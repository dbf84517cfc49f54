"""One run per output folder, and a re-run never silently deletes a previous run's checkpoints."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_output_safety import run_script, snapshot
from training_support import tiny_arguments

from mindrec.pipeline import MAIN_JOB_DEFAULTS, build_run
from mindrec.training.checkpointing import (
    LOCK_FILE,
    OutputDirLockedError,
    list_checkpoints,
    output_dir_lock,
    prepare_output_dir,
)
from mindrec.training.trainer import Trainer, make_accelerator

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "scripts" / "train.py"
HOLD = """
import sys
from mindrec.training.checkpointing import output_dir_lock
with output_dir_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path):
    """A separate live process holding ``tmp_path / "run"``'s lock; killed (SIGKILL) at the end."""
    output_dir = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(output_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "held"
    yield output_dir, child
    if child.poll() is None:
        child.kill()
        child.wait()


def test_a_second_run_on_a_locked_output_dir_fails_at_once_naming_the_holder(holder, caplog):
    output_dir, child = holder
    before = snapshot(output_dir)
    assert list(before) == [LOCK_FILE]
    result = run_script(TRAIN, "--output_dir", str(output_dir), "--max_steps", "1", "--synthetic_num_users", "80")
    assert result.returncode == 1
    assert f"is in use by another training run: pid {child.pid} on host {socket.gethostname()!r}" in result.stderr
    assert snapshot(output_dir) == before  # nothing written: no item_codes.json, no checkpoints

    # The holder dies without cleaning up (kill -9): its lock file is stale and is taken over, with a log line.
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (output_dir / LOCK_FILE).is_file()
    with caplog.at_level(logging.WARNING), output_dir_lock(output_dir):
        assert f'"pid": {os.getpid()}' in (output_dir / LOCK_FILE).read_text()
        with output_dir_lock(output_dir):  # re-entrant in the holding process
            pass
    assert f"stale lock {output_dir / LOCK_FILE} left by pid {child.pid}" in caplog.text
    assert list(output_dir.iterdir()) == []  # released: the lock file is gone


def test_an_in_process_trainer_refuses_a_locked_output_dir(holder):
    output_dir, child = holder
    arguments = tiny_arguments(output_dir.parent / "codes", max_steps=1)
    _, _, _, train_args, eval_args = arguments
    data, model, _, _, task, signature = build_run(*arguments, make_accelerator("no"))
    train_args.output_dir = str(output_dir)
    trainer = Trainer(
        model, task, data.splits["train"], None, train_args, eval_args, signature, lambda *_: None,
        accelerator=make_accelerator("no"),
    )  # fmt: skip
    with pytest.raises(OutputDirLockedError, match=f"pid {child.pid} on host"):
        trainer.train()
    assert snapshot(output_dir) == {LOCK_FILE: (output_dir / LOCK_FILE).read_bytes()}


@pytest.fixture
def crashed_run(tmp_path):
    """An output_dir left by a run that stopped after its step-2 checkpoint (as a crash would)."""
    arguments = tiny_arguments(tmp_path, max_steps=4, save_steps=2)
    _, _, _, train_args, eval_args = arguments
    accelerator = make_accelerator("no")
    data, model, _, _, task, signature = build_run(*arguments, accelerator)
    Trainer(
        model, task, data.splits["train"], None, train_args, eval_args, signature, lambda *_: None,
        accelerator=accelerator,
    ).train(stop_at_step=2)  # fmt: skip
    assert [path.name for path in list_checkpoints(tmp_path / "checkpoints")] == ["checkpoint-00000002"]
    return tmp_path


def test_rerunning_a_crashed_run_with_the_shipped_config_keeps_its_checkpoints(crashed_run):
    assert "overwrite_output_dir" not in MAIN_JOB_DEFAULTS  # the safe choice is the default
    before = snapshot(crashed_run)
    config = REPO / "configs" / "default_synthetic.yaml"
    result = run_script(TRAIN, "--config", str(config), "--output_dir", str(crashed_run))
    assert result.returncode == 1
    assert "already holds checkpoints (checkpoint-00000002); pass --resume_from_checkpoint latest" in result.stderr
    assert snapshot(crashed_run) == before  # checkpoints and item_codes.json untouched, no lock left


def test_overwrite_output_dir_says_loudly_what_it_removes(crashed_run, caplog):
    with caplog.at_level(logging.WARNING):
        prepare_output_dir(crashed_run, None, overwrite_output_dir=True)
    assert "REMOVING 1 checkpoint(s) of a previous run" in caplog.text
    assert "checkpoint-00000002" in caplog.text
    assert not (crashed_run / "checkpoints").exists()
    assert (crashed_run / "item_codes.json").is_file()  # only the checkpoints are removed


def test_a_foreign_best_folder_is_refused_before_training(tmp_path):
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "notes.txt").write_text("not a model")
    before = snapshot(tmp_path)
    with pytest.raises(FileExistsError, match=r"best already exists and is not a previous model output"):
        prepare_output_dir(tmp_path, None, False, model_folders=("best", "final"))
    assert snapshot(tmp_path) == before
