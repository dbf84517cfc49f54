"""scripts/benchmark.py --predictions_dir: every row's test lists as JSON lines, consistent with its metrics."""

from __future__ import annotations

import json
import math

from test_benchmark_protocols import tiny_synthetic_small

from mindrec.benchmark.runner import run_benchmark


def test_benchmark_writes_each_rows_predictions(tmp_path):
    result_set = run_benchmark(
        tiny_synthetic_small(), seeds=[0], models=["popularity", "sasrec"], repo_root=tmp_path,
        predictions_dir=tmp_path / "predictions",
    )  # fmt: skip
    assert sorted(path.name for path in (tmp_path / "predictions").iterdir()) == ["popularity-seed0.jsonl", "sasrec-seed0.jsonl"]
    runs = {run["model"]: run for run in result_set["runs"]}
    from mindrec.data import make_synthetic_dataset

    data = make_synthetic_dataset(num_users=40, num_items=60, seed=0, max_history=10)
    targets = dict(zip(data.splits["test"]["user_id"], (data.item_ids[t] for t in data.splits["test"]["target"]), strict=True))
    for row in ("popularity", "sasrec"):
        records = [json.loads(line) for line in (tmp_path / "predictions" / f"{row}-seed0.jsonl").read_text().splitlines()]
        assert sorted(record["user"] for record in records) == sorted(targets)
        assert all(len(record["items"]) == 10 for record in records)
        ranks = [record["items"].index(targets[record["user"]]) if targets[record["user"]] in record["items"] else None
                 for record in records]  # fmt: skip
        ndcg = sum(1 / math.log2(rank + 2) for rank in ranks if rank is not None) / len(records)
        assert math.isclose(ndcg, runs[row]["metrics"]["ndcg@10"], abs_tol=1e-12), row
    for row in ("popularity", "sasrec"):  # counts, logits: best first
        records = [json.loads(line) for line in (tmp_path / "predictions" / f"{row}-seed0.jsonl").read_text().splitlines()]
        assert all(len(record["scores"]) == 10 and record["scores"] == sorted(record["scores"], reverse=True)
                   for record in records), row  # fmt: skip
