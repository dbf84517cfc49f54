"""Benchmark results: per-run records, mean ± std over seeds, the markdown table and the JSON file.

A *run* is one model trained and evaluated with one seed::

    {"model": "mindrec-dbs", "seed": 0,
     "metrics": {"hr@1": ..., "hr@3": ..., "hr@5": ..., "hr@10": ..., "ndcg@5": ..., "ndcg@10": ...},
     "train_seconds": 812.4, "decode_users_per_second": 35.1, "num_parameters": 1234567,
     "details": {...}}              # free-form: best epoch, validation curve, decoder settings ...

A *result set* is what one ``scripts/benchmark.py`` invocation writes to ``<protocol>.json``: the protocol
and its configuration, the seeds, the date, the git commit, the hardware, the runs and their summary.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..io_utils import atomic_write_json, atomic_write_text

TABLE_METRICS = ("hr@1", "hr@3", "hr@5", "hr@10", "ndcg@5", "ndcg@10")
COST_FIELDS = ("train_seconds", "decode_users_per_second", "num_parameters")
SUMMARY_FIELDS = (*TABLE_METRICS, *COST_FIELDS)
_HEADERS = {
    "hr@1": "HR@1",
    "hr@3": "HR@3",
    "hr@5": "HR@5",
    "hr@10": "HR@10",
    "ndcg@5": "NDCG@5",
    "ndcg@10": "NDCG@10",
    "train_seconds": "Train (s)",
    "decode_users_per_second": "Decode (users/s)",
    "num_parameters": "Params",
}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``n - 1`` denominator; 0.0 for a single value).

    Raises:
        ValueError: no values, or a value that is not a finite number.
    """
    values = [float(value) for value in values]
    if not values:
        raise ValueError("mean_std needs at least one value")
    bad = [value for value in values if not math.isfinite(value)]
    if bad:
        raise ValueError(f"mean_std got non-finite values {bad}")
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    variance = sum((value - mean) ** 2 for value in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


def _run_value(run: Mapping[str, Any], field: str) -> float:
    source = run["metrics"] if field in TABLE_METRICS else run
    if field not in source:
        where = "metrics" if field in TABLE_METRICS else "run"
        raise ValueError(f"run of model {run.get('model')!r} seed {run.get('seed')!r} lacks {where} field {field!r}")
    return float(source[field])


def summarize_runs(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per model, in the order models first appear in ``runs``.

    Each row is ``{"model", "seeds": [..], field: {"mean", "std"} for field in SUMMARY_FIELDS}``.

    Raises:
        ValueError: a run lacks a field, or one model has two runs with the same seed.
    """
    if not runs:
        raise ValueError("no runs to summarise")
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_model.setdefault(run["model"], []).append(run)
    rows = []
    for model, model_runs in by_model.items():
        seeds = [run["seed"] for run in model_runs]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"model {model!r} has several runs with one seed: seeds {seeds}")
        row: dict[str, Any] = {"model": model, "seeds": seeds}
        for field in SUMMARY_FIELDS:
            mean, std = mean_std([_run_value(run, field) for run in model_runs])
            row[field] = {"mean": mean, "std": std}
        rows.append(row)
    return rows


def _format_cell(field: str, stats: Mapping[str, float], num_seeds: int) -> str:
    """``mean ± std`` with the field's precision; the mean alone for one seed."""
    if field == "num_parameters":
        return f"{round(stats['mean']):,}"
    digits = 4 if field in TABLE_METRICS else 1
    text = f"{stats['mean']:.{digits}f}"
    return text if num_seeds == 1 else f"{text} ± {stats['std']:.{digits}f}"


def format_results_table(summary: Sequence[Mapping[str, Any]]) -> str:
    """The markdown table of a summary (see :func:`summarize_runs`), one row per model.

    Metrics print with 4 decimals, seconds and users/s with 1, parameters as an integer with thousands
    separators; with several seeds a cell reads ``mean ± std`` (sample std).
    """
    if not summary:
        raise ValueError("the summary is empty; nothing to format")
    header = "| Model | " + " | ".join(_HEADERS[field] for field in SUMMARY_FIELDS) + " |"
    rule = "|---" + "|---:" * len(SUMMARY_FIELDS) + "|"
    lines = [header, rule]
    for row in summary:
        cells = [_format_cell(field, row[field], len(row["seeds"])) for field in SUMMARY_FIELDS]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def hardware_info() -> dict[str, Any]:
    """What the benchmark ran on: platform, python, torch version and threads, CPU count, GPU name."""
    import torch  # here, so that the benchmark CLI's --help imports no torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
    }


def git_commit(repo: str | os.PathLike) -> str | None:
    """The checked-out commit of ``repo``, or None without git.

    ``+dirty`` is appended when the working tree differs from it (modified *or untracked* files: code that
    is not committed yet ran too, so the bare hash would not reproduce the run).
    """
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=repo, capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if status else commit


def _data_lines(data: Mapping[str, Any] | None) -> list[str]:
    """The report's line naming the data that ran (a protocol run with ``--data`` elsewhere keeps its description,
    which names the protocol's own dataset); none for a result set that does not record it."""
    if not data:
        return []
    sizes = ", ".join(f"{data[key]:,} {key}" for key in ("users", "items", "interactions") if key in data)
    where = f" from `{data['path']}`" if data.get("path") else " (built-in synthetic generator)"
    return [f"* data: {data.get('name', 'unnamed')}{where}: {sizes}"]


def format_report(result_set: Mapping[str, Any], plot_name: str | None = None) -> str:
    """The ``<protocol>.md`` page: title, what ran where, the table, the plot and the protocol config."""
    hardware = result_set["hardware"]
    seeds = ", ".join(str(seed) for seed in result_set["seeds"])
    lines = [
        f"# Benchmark `{result_set['protocol']}`",
        "",
        f"{result_set['description']}",
        "",
        *_data_lines(result_set.get("data")),
        f"* date: {result_set['date']}",
        f"* seeds: {seeds} (cells: mean ± sample std over seeds)",
        f"* git commit: {result_set['git_commit'] or 'unknown'}",
        f"* hardware: {hardware['platform']}, {hardware['cpu_count']} CPUs ({hardware['torch_threads']} torch "
        f"threads), GPU: {hardware['gpu'] or 'none'}, torch {hardware['torch']}, python {hardware['python']}",
        f"* total wall time: {result_set['wall_seconds']:.0f} s",
        *([f"* command: `{result_set['command']}`"] if result_set.get("command") else []),
        *[f"* part: `{command}`" for command in result_set.get("commands", [])],
        "",
        format_results_table(result_set["summary"]).rstrip("\n"),
        "",
    ]
    if plot_name:
        lines += [f"![NDCG@10 against decoding speed]({plot_name})", ""]
    profile = format_profile_table(result_set)
    if profile:
        lines += ["## Cost profile", "", profile.rstrip("\n"), ""]
    lines += [
        "Train (s): wall-clock training time including validation-based selection. Decode (users/s): test "
        "users ranked per second. Metrics are exact-item, full-catalogue, leave-one-out on the test split.",
        "",
        "## Protocol",
        "",
        "```json",
        _json_block(result_set["protocol_config"]),
        "```",
        "",
    ]
    return "\n".join(lines)


def format_profile_table(result_set: Mapping[str, Any]) -> str:
    """Markdown table of the first seed's cost profiles (runs without a ``details.profile`` are left out);
    empty string when no run has one."""
    first_seed = result_set["seeds"][0]
    runs = [run for run in result_set["runs"] if run["seed"] == first_seed and run.get("details", {}).get("profile")]
    if not runs:
        return ""
    peak = result_set["hardware"].get("matmul_peak_gflops_fp32")

    def cells(step: Mapping[str, float] | None) -> list[str]:
        if step is None:
            return ["", "", "", ""]
        return [
            f"{step['seconds'] * 1000:.1f}",
            str(step["rows"]),
            f"{step['gflop']:.2f}",
            f"{100 * step['peak_fraction']:.1f}%",
        ]

    lines = [
        f"Seed {first_seed}; fp32 matmul peak measured on this machine: {peak} GFLOP/s. A training step is the "
        "forward + backward of one batch; a decoding step is one canvas-scorer call over the test batch x beams "
        "rows (FLOPs: matmuls and attention only).",
        "",
        "| Model | Train step (ms) | Train rows | Train GFLOP | Train % peak "
        "| Decode step (ms) | Decode rows | Decode GFLOP | Decode % peak |",
        "|---" + "|---:" * 8 + "|",
    ]
    for run in runs:
        profile = run["details"]["profile"]
        row = cells(profile["training_step"]) + cells(profile.get("decoding_step"))
        lines.append(f"| {run['model']} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def _json_block(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)


def write_result_set(result_set: Mapping[str, Any], output_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``<protocol>.json``, ``<protocol>.png`` and ``<protocol>.md`` atomically into ``output_dir``, and
    ``<protocol>-curves.png`` (validation NDCG@10 against steps and seconds) when runs recorded curves.

    Returns the written paths by kind (``"json"``, ``"png"``, ``"md"``, ``"curves"``).
    """
    from .plot import plot_quality_vs_speed

    output_dir = Path(output_dir)
    name = result_set["protocol"]
    paths = {kind: output_dir / f"{name}.{kind}" for kind in ("json", "png", "md")}
    atomic_write_json(paths["json"], result_set)
    plot_quality_vs_speed(result_set["summary"], paths["png"], title=f"{name} ({result_set['date'][:10]})")
    atomic_write_text(paths["md"], format_report(result_set, plot_name=paths["png"].name))
    curves = learning_curves(result_set["runs"])
    if curves:
        from mindrec.training.run_history import plot_learning_curves

        paths["curves"] = plot_learning_curves(
            curves, output_dir / f"{name}-curves.png", title=f"{name}: validation NDCG@10 while training"
        )
    return paths


def learning_curves(runs: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``"<rows> seed <k>" -> validation entries`` of every trained run.

    Rows that share one trained model (MindRec's decoders) share its curve, labelled with all their names
    (``"mindrec-onepass + mindrec-fused seed 0"``): the curve is read with the plan's validation decoder, so
    naming it after one row alone would credit that row's decoder with another's numbers.
    """
    groups: dict[tuple[int, str], tuple[list[str], list[dict[str, Any]]]] = {}
    for run in runs:
        validation = run.get("details", {}).get("validation")
        if not validation:
            continue
        rows, _ = groups.setdefault((run["seed"], json.dumps(validation, sort_keys=True)), ([], list(validation)))
        rows.append(run["model"])
    return {f"{' + '.join(rows)} seed {seed}": validation for (seed, _), (rows, validation) in groups.items()}


__all__ = [
    "COST_FIELDS",
    "SUMMARY_FIELDS",
    "TABLE_METRICS",
    "format_profile_table",
    "format_report",
    "format_results_table",
    "git_commit",
    "hardware_info",
    "learning_curves",
    "mean_std",
    "summarize_runs",
    "write_result_set",
]
