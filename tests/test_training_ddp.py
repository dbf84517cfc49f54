"""Two-process CPU data parallel: ``accelerate launch --multi_gpu --num_processes 2 scripts/train.py``.

On a machine without CUDA the script's Accelerator is built with ``cpu=True``, so accelerate's
torchrun-based launcher gives CPU data parallel over gloo. (``accelerate launch --cpu --num_processes 2``
starts a single process in accelerate 1.x unless an MPI hostfile is given.)
"""

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mindrec.pipeline import warn_single_process_cpu_launch
from mindrec.training.checkpointing import list_checkpoints, read_trainer_state
from mindrec.training.trainer import close_processes

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_run_trains_and_writes_a_final_model(tmp_path):
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        str(ROOT / "scripts" / "train.py"),
        "--output_dir", str(tmp_path / "run"),
        "--synthetic_num_users", "60", "--synthetic_num_items", "40",
        "--num_category_levels", "2", "--num_sid_digits", "2", "--codebook_size", "4",
        "--hidden_size", "16", "--intermediate_size", "32", "--num_hidden_layers", "1", "--num_attention_heads", "2",
        "--max_steps", "4", "--train_batch_size", "8", "--eval_steps", "2", "--logging_steps", "2",
        "--num_beams", "5", "--num_return_items", "5", "--eval_ks", "1", "5", "--selection_metric", "ndcg@5",
        "--validation_max_users", "10", "--eval_batch_size", "20", "--show_progress", "false",
        "--metrics-json", str(tmp_path / "metrics.json"),
    ]  # fmt: skip
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]
    run = tmp_path / "run"
    checkpoint = list_checkpoints(run / "checkpoints")[-1]
    assert checkpoint.name == "checkpoint-00000004"
    assert {path.name for path in checkpoint.glob("random_states_*.pkl")} == {
        "random_states_0.pkl",
        "random_states_1.pkl",
    }
    state = read_trainer_state(checkpoint)
    assert (state["num_processes"], state["global_step"]) == (2, 4)
    assert (run / "final" / "model.safetensors").is_file() and (run / "final" / "item_codes.json").is_file()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["test"]) == {"MindRec", "popularity"}
    assert [entry["step"] for entry in metrics["validation"]] == [2, 4]
    assert completed.stdout.count("| MindRec |") == 1  # only the main process reports


def test_a_single_process_cpu_launch_meant_for_several_is_reported(monkeypatch, caplog):
    class OneProcess:
        num_processes = 1

    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with caplog.at_level(logging.WARNING, logger="mindrec.pipeline"):
        warn_single_process_cpu_launch(OneProcess())
    assert "accelerate launch --cpu started a single process" in caplog.text
    caplog.clear()
    monkeypatch.delenv("MASTER_ADDR")  # a plain single-process launch: nothing to say
    warn_single_process_cpu_launch(OneProcess())
    assert caplog.text == ""


class LaunchedProcesses:
    """An Accelerator of a launched run, as far as :func:`close_processes` reads it: records its barriers."""

    def __init__(self, num_processes: int):
        self.num_processes = num_processes
        self.barriers = 0

    def wait_for_everyone(self):
        assert torch.distributed.is_initialized(), "the barrier must come before the group is destroyed"
        self.barriers += 1


def test_closing_a_launched_run_waits_for_every_process_then_destroys_the_group():
    # Without it the process that finished first tore its gloo threads down at exit and could abort
    # ("terminate called without an active exception"), which made the two-process test above fail now and then.
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1)
    try:
        single = LaunchedProcesses(num_processes=1)
        close_processes(single)  # a single-process run leaves a group it did not make alone
        assert single.barriers == 0 and torch.distributed.is_initialized()
        launched = LaunchedProcesses(num_processes=2)
        close_processes(launched)
        assert launched.barriers == 1
        assert not torch.distributed.is_initialized()
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
