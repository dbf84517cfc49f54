"""scripts/evaluate.py: the folder's saved decoding, evaluation-only options, predictions as JSON lines.

The predictions are checked the way an outside user would: HR/NDCG recomputed from the JSON lines and
the raw ``sequences.txt`` (last item of every user = test target) must equal the metrics the CLI wrote.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_support import save_untrained_run, write_beauty_folder

from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.pipeline import evaluate_main
from mindrec.training.model_io import load_trained_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An untrained tiny model on the beauty folder, saved with parallel denoising, 5 beams, 5 items."""
    root = tmp_path_factory.mktemp("evaluate_cli")
    data_dir = write_beauty_folder(root / "beauty")
    model_dir, data = save_untrained_run(root / "run", data=str(data_dir), max_history=None, strategy="parallel_denoising")
    saved = json.loads((model_dir / "generation_config.json").read_text())
    assert (saved["num_beams"], saved["num_return_items"]) == (5, 5)
    return model_dir, data_dir, data


def test_evaluate_decodes_with_the_folders_generation_config(saved, tmp_path):
    model_dir, _, data = saved
    predictions = tmp_path / "predictions.jsonl"
    metrics = evaluate_main(["--model", str(model_dir), "--predictions_jsonl", str(predictions), "--show_progress", "false"])
    trained = load_trained_model(model_dir)
    direct = evaluate_recommender(
        mindrec_recommender(trained.model, trained.tokenizer, trained.generation_config),
        data.splits["test"], data.num_items, ks=(1, 5), show_progress=False,
    )  # fmt: skip
    assert metrics["MindRec"]["ndcg@5"] == direct.metrics["ndcg@5"]
    assert "hr@10" not in metrics["MindRec"]  # the run's cut-offs (1, 5), not the default (1, 5, 10)
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [len(record["items"]) for record in records] == [5] * len(data.splits["test"])
    assert [record["items"] for record in records] == [
        [data.item_ids[index] for index in row] for row in direct.item_lists.tolist()
    ]
    written = [score for record in records for score in record["scores"]]
    assert written == pytest.approx(direct.scores.flatten().tolist(), abs=1e-6)
    assert all(scores == sorted(scores, reverse=True) for scores in (record["scores"] for record in records))


def test_evaluate_command_line_overrides_the_saved_decoding(saved):
    model_dir, _, _ = saved
    metrics = evaluate_main(
        ["--model", str(model_dir), "--num-beams", "6", "--num_return_items", "6", "--eval-ks", "1", "6", "--show_progress", "false"]
    )  # fmt: skip
    assert sorted(name for name in metrics["MindRec"] if name.startswith("hr@")) == ["hr@1", "hr@6"]


def test_the_printed_table_is_headed_by_the_split_it_scores(saved, capsys):
    model_dir, _, _ = saved
    for split in ("validation", "test"):
        evaluate_main(["--model", str(model_dir), "--split", split, "--show_progress", "false"])
        assert capsys.readouterr().out.startswith(f"| {split} | hr@1 |")


def test_predictions_jsonl_recomputes_the_printed_metrics(saved, tmp_path):
    """An outside check: HR@K / NDCG@K from the JSON lines and the raw sequences file."""
    model_dir, data_dir, _ = saved
    predictions, metrics_json = tmp_path / "p.jsonl", tmp_path / "m.json"
    completed = subprocess.run(
        [sys.executable, "scripts/evaluate.py", "--model", str(model_dir), "--predictions-jsonl", str(predictions),
         "--metrics-json", str(metrics_json), "--show-progress", "false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    targets = {}
    for line in (data_dir / "sequences.txt").read_text().splitlines():
        user, *items = line.split()
        if len(items) >= 3:  # leave-one-out needs a train, a validation and a test item
            targets[user] = items[-1]
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert sorted(record["user"] for record in records) == sorted(targets)
    mine = {}
    for k in (1, 5):
        ranks = [record["items"][:k].index(targets[record["user"]]) if targets[record["user"]] in record["items"][:k]
                 else None for record in records]  # fmt: skip
        mine[f"hr@{k}"] = sum(rank is not None for rank in ranks) / len(records)
        mine[f"ndcg@{k}"] = sum(1 / math.log2(rank + 2) for rank in ranks if rank is not None) / len(records)
    printed = json.loads(metrics_json.read_text())["metrics"]["MindRec"]
    assert {name: printed[name] for name in mine} == pytest.approx(mine, abs=1e-12)
    assert mine["hr@5"] > 0  # the check compares something: at least one hit in 33 users x 5 of 30 items
