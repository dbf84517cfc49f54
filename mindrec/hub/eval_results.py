"""Read an evaluation JSON into model-card evaluation results.

Two layouts are read, the two that mindrec writes:

* ``scripts/evaluate.py --metrics-json``::

      {"split": "test", "model": "runs/beauty/best",
       "metrics": {"MindRec": {"hr@1": 0.012, "ndcg@10": 0.031, ...}, "popularity": {...}}}

* the training run's ``metrics.json`` (``python -m mindrec`` / ``scripts/train.py``)::

      {"test": {"MindRec": {...}, "popularity": {...}}, "validation": [...], "run": {"data": {...}, ...}}

Each holds one row per recommender: exactly one model row, plus baseline rows (``popularity``) that the
card shows for comparison. Ranking metrics (``hr@K``, ``ndcg@K``, ``recall@K``, ``mrr``, ``validity``)
must be finite and lie in [0, 1]; other entries (``users_per_second``) must be numbers.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult

from .model_folder import read_json_file

BASELINE_LABELS = ("popularity",)
RANKING_METRIC = re.compile(r"^(?:(?:hr|ndcg|recall)@\d+|mrr|validity)$")
# What goes into the model-index: quality metrics (not validity, a sanity check, nor throughput).
MODEL_INDEX_METRIC = re.compile(r"^(?:(?:hr|ndcg|recall)@\d+|mrr)$")
TASK_TYPE = "recommendation"
TASK_NAME = "Sequential recommendation (next item, leave-one-out, full catalogue, exact item)"


@dataclass(frozen=True)
class EvalReport:
    """Metrics of one evaluation run.

    Attributes:
        model_label: name of the model's row (e.g. ``"MindRec"``).
        metrics: the model's metrics, metric name -> value, in the file's order.
        baselines: the other rows (``{"popularity": {...}}``), for comparison.
        split: the evaluated split (``"test"`` or ``"validation"``).
        source: the file it was read from.
        run: the run record the file carries (training ``metrics.json``), else ``{}``.
    """

    model_label: str
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    split: str
    source: Path
    run: dict[str, Any]

    @property
    def index_metrics(self) -> dict[str, float]:
        """The model's quality metrics, for the card's metadata and model-index."""
        return {name: value for name, value in self.metrics.items() if MODEL_INDEX_METRIC.match(name)}


def _check_row(label: str, row: Any, path: Path) -> dict[str, float]:
    if not isinstance(row, dict) or not row:
        raise ValueError(
            f"evaluation JSON {path}: row {label!r} must be a non-empty object of metrics, got {row!r:.80}"
        )
    clean = {}
    for name, value in row.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"evaluation JSON {path}: row {label!r} metric {name!r} must be a number, got {value!r}"
            )
        if RANKING_METRIC.match(name):
            if not math.isfinite(value):
                raise ValueError(
                    f"evaluation JSON {path}: row {label!r} metric {name!r} is {value}, not a finite number"
                )
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"evaluation JSON {path}: row {label!r} metric {name!r} = {value} is outside [0, 1]"
                )
        clean[name] = float(value)
    return clean


def read_eval_json(path: str | os.PathLike) -> EvalReport:
    """Read and validate an evaluation JSON (see the module docstring for the layouts).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: naming the file and the problem: invalid JSON (with line and column), neither layout,
            no model row or several, a non-numeric metric, a ranking metric non-finite or outside [0, 1].
    """
    path = Path(path)
    report = read_json_file(path, "evaluation JSON")
    if "metrics" in report:
        rows, split = report["metrics"], report.get("split")
    elif "test" in report:
        rows, split = report["test"], "test"
    else:
        raise ValueError(
            f"evaluation JSON {path}: expected a 'metrics' object (scripts/evaluate.py --metrics-json) or a "
            f"'test' object (a training run's metrics.json); found keys {sorted(report)}"
        )
    if not isinstance(split, str) or not split:
        raise ValueError(f"evaluation JSON {path}: 'split' must name the evaluated split, got {split!r}")
    if not isinstance(rows, dict) or not rows:
        raise ValueError(
            f"evaluation JSON {path}: needs a non-empty object of rows (recommender name -> metrics), got {rows!r:.80}"
        )
    checked = {label: _check_row(label, row, path) for label, row in rows.items()}
    models = [label for label in checked if label not in BASELINE_LABELS]
    if len(models) != 1:
        raise ValueError(
            f"evaluation JSON {path}: expected exactly one model row next to the baselines {list(BASELINE_LABELS)}, "
            f"found rows {list(checked)}"
        )
    if not any(MODEL_INDEX_METRIC.match(name) for name in checked[models[0]]):
        raise ValueError(
            f"evaluation JSON {path}: row {models[0]!r} has no hr@K, ndcg@K, recall@K or mrr metric, got "
            f"{list(checked[models[0]])}"
        )
    run = report.get("run") or {}
    if not isinstance(run, dict):
        raise ValueError(f"evaluation JSON {path}: 'run' must be an object, got {run!r:.80}")
    return EvalReport(
        model_label=models[0],
        metrics=checked[models[0]],
        baselines={label: row for label, row in checked.items() if label != models[0]},
        split=split,
        source=path,
        run=run,
    )


def metric_display_name(name: str) -> str:
    """``"hr@10"`` -> ``"HR@10"``, ``"mrr"`` -> ``"MRR"``, ``"users_per_second"`` -> ``"users/s"``, others as is."""
    if name == "users_per_second":
        return "users/s"
    return name.upper() if MODEL_INDEX_METRIC.match(name) else name


def dataset_name_from_run(run: Mapping[str, Any]) -> str | None:
    """A dataset name from a run record's data options: the data folder's name, ``"synthetic"`` for the
    built-in synthetic catalogue, None without a record."""
    data = run.get("data")
    if not isinstance(data, Mapping) or "data" not in data:
        return None
    source = data["data"]
    return "synthetic" if source is None else Path(str(source).rstrip("/")).name


def protocol_description(run: Mapping[str, Any]) -> str:
    """``" (first 5000 users, histories of at most 10 items)"`` from a run record's data options, or ``""``."""
    data = run.get("data") if isinstance(run.get("data"), Mapping) else {}
    parts = []
    if data.get("max_users"):
        parts.append(f"first {data['max_users']} users")
    if data.get("max_history"):
        parts.append(f"histories of at most {data['max_history']} items")
    return f" ({', '.join(parts)})" if parts else ""


def results_table(report: EvalReport) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """``(columns, rows)`` of the card's results table: the model row first, then the baselines; one table
    row per metric of the model row, e.g. ``("HR@10", ["0.0612", "0.0213"])``."""
    columns = {report.model_label: report.metrics, **report.baselines}

    def cell(name: str, value: float | None) -> str:
        if value is None:
            return ""
        return f"{value:.1f}" if name == "users_per_second" else f"{value:.4f}"

    rows = [
        (metric_display_name(name), [cell(name, column.get(name)) for column in columns.values()])
        for name in report.metrics
    ]
    return list(columns), rows


def to_eval_results(
    report: EvalReport, dataset_name: str, dataset_type: str | None = None
) -> list[EvalResult]:
    """One ``huggingface_hub.EvalResult`` per quality metric of the model row (the card's model-index).

    Args:
        report: the evaluation run.
        dataset_name: human-readable dataset name.
        dataset_type: dataset id (defaults to ``dataset_name``).
    """
    return [
        EvalResult(
            task_type=TASK_TYPE,
            task_name=TASK_NAME,
            dataset_type=dataset_type or dataset_name,
            dataset_name=dataset_name,
            dataset_split=report.split,
            metric_type=name,
            metric_name=metric_display_name(name),
            metric_value=value,
        )
        for name, value in report.index_metrics.items()
    ]


__all__ = [
    "BASELINE_LABELS",
    "EvalReport",
    "dataset_name_from_run",
    "metric_display_name",
    "protocol_description",
    "read_eval_json",
    "results_table",
    "to_eval_results",
]
