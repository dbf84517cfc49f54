"""The main job (``python -m mindrec``) end to end on a very small synthetic catalogue."""

import json
import runpy
import sys

from mindrec.pipeline import MAIN_JOB_DEFAULTS


def test_main_job_prints_both_rows_examples_and_writes_metrics(tmp_path, monkeypatch, capsys):
    metrics_path = tmp_path / "metrics.json"
    argv = [
        "mindrec", "--output_dir", str(tmp_path / "run"), "--metrics-json", str(metrics_path),
        "--synthetic_num_users", "80", "--synthetic_num_items", "60", "--codebook_size", "6", "--num_sid_digits", "2",
        "--num_category_levels", "2", "--hidden_size", "16", "--intermediate_size", "32", "--num_hidden_layers", "1",
        "--num_attention_heads", "2", "--num_epochs", "1", "--train_batch_size", "64",
        "--validation_max_users", "20", "--eval_batch_size", "80", "--show_progress", "false",
    ]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_module("mindrec", run_name="__main__")
    out = capsys.readouterr().out
    assert (
        "| test | hr@1 | hr@5 | hr@10 | ndcg@1 | ndcg@5 | ndcg@10 | mrr | validity | users_per_second |"
        in out
    )
    assert "| MindRec |" in out and "| popularity |" in out
    assert "MindRec NDCG@10 is " in out and "x popularity's (" in out
    assert "Example recommendations (test users):" in out and " > " in out  # category paths

    metrics = json.loads(metrics_path.read_text())
    assert set(metrics["test"]) == {"MindRec", "popularity"}
    assert metrics["test"]["MindRec"]["validity"] == 1.0
    run = metrics["run"]
    # Options not given on the command line come from the main job's defaults.
    assert run["training"]["learning_rate"] == MAIN_JOB_DEFAULTS["learning_rate"]
    assert run["data"]["max_history"] == MAIN_JOB_DEFAULTS["max_history"]
    assert (tmp_path / "run" / "best" / "item_codes.json").is_file()


def test_example_lines_show_titles_and_category_paths_where_the_catalogue_has_them():
    from types import SimpleNamespace

    import torch
    from datasets import Dataset

    from mindrec.pipeline import EXAMPLE_TITLE_CHARACTERS, RunResult, example_lines

    long_title = "A very long film title " * 5
    paths = {0: ["Drama"], 1: [], 2: [], 3: ["Drama", "Noir"]}
    data = SimpleNamespace(
        item_ids=["m0", "m1", "m2", "m3"],
        items=Dataset.from_dict({"title": ["Heat", "", long_title, "Alphaville  (1965)"]}),
        splits={"test": Dataset.from_dict({"user_id": ["u"], "history": [[0, 1]]})},
    )
    evaluation = SimpleNamespace(user_ids=["u"], item_lists=torch.tensor([[3, 2, -1]]), targets=torch.tensor([3]))
    tokenizer = SimpleNamespace(category_names=lambda index: paths[index])
    result = RunResult(train=None, test={"MindRec": evaluation}, tokenizer=tokenizer, data=data)
    cut = " ".join(long_title.split())[: EXAMPLE_TITLE_CHARACTERS - 3] + "..."
    assert example_lines(result, num_items=3) == [
        "user u",
        '  last items: m0 "Heat" [Drama]; m1',
        '  next item:  m3 "Alphaville (1965)" [Drama > Noir]',
        '  1. m3 "Alphaville (1965)" [Drama > Noir]  <- hit',
        f'  2. m2 "{cut}"',
        "  3. (none)",
    ]
