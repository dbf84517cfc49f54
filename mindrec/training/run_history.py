"""A run's history on disk: ``metrics.json`` (training loss and validation metrics over steps and
seconds) and learning-curve plots, so that a run can be watched and compared with another.

``metrics.json`` holds::

    {"loss": [{"step", "epoch", "seconds", "loss", "learning_rate"}, ...],
     "validation": [{"step", "epoch", "seconds", <metric>: value, ...}, ...],
     "best_step": int | null, "selection_metric": str, "stopped_early": bool}

``seconds`` is training wall-clock time (validation excluded), summed over resumed runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mindrec.io_utils import atomic_write_json

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
CURVES_FILE = "learning_curves.png"


def write_run_metrics(output_dir: str | os.PathLike, history: Mapping[str, Any]) -> Path:
    """Write ``history`` (see the module docstring) to ``output_dir/metrics.json`` atomically."""
    path = Path(output_dir) / METRICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, dict(history))
    return path


def plot_learning_curves(
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | os.PathLike,
    metric: str = "ndcg@10",
    title: str | None = None,
) -> Path:
    """Plot validation ``metric`` against steps (left) and training seconds (right), one line per run.

    Args:
        curves: run name -> its validation entries (each with ``step``, ``seconds`` and ``metric``).
        path: the ``.png`` to write (atomically: a temporary file in the same folder, then a rename).
        metric: the validation metric on the y axis.
        title: figure title.

    Raises:
        ImportError: matplotlib is not installed (the ``bench`` extra).
        ValueError: no curve has an entry with ``metric``.
    """
    plt = load_pyplot()
    drawn = {name: [entry for entry in entries if metric in entry] for name, entries in curves.items()}
    drawn = {name: entries for name, entries in drawn.items() if entries}
    if not drawn:
        raise ValueError(f"no validation entry holds {metric!r}; nothing to plot")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    try:
        for name, entries in drawn.items():
            values = [entry[metric] for entry in entries]
            (line,) = by_step.plot([entry["step"] for entry in entries], values, marker="o", markersize=3, label=name)
            if all("seconds" in entry for entry in entries):  # same colour in both panels
                by_time.plot([entry["seconds"] for entry in entries], values, marker="o", markersize=3,
                             color=line.get_color(), label=name)
        by_step.set_xlabel("training step")
        by_time.set_xlabel("training seconds (validation excluded)")
        for axes in (by_step, by_time):
            axes.set_ylabel(f"validation {metric}")
            axes.grid(alpha=0.3)
        by_step.legend(fontsize=8)
        if title:
            figure.suptitle(title)
        figure.tight_layout()
        temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
        figure.savefig(temporary)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
    return path


MATPLOTLIB_MISSING = "plotting needs matplotlib, which the `bench` extra brings: pip install -e '.[bench]'"


def load_pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend (never a window); the one place the package
    imports matplotlib, the optional ``bench`` extra.

    Raises:
        ImportError: matplotlib is not installed (the message names the extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(MATPLOTLIB_MISSING) from error
    return plt


def matplotlib_available() -> bool:
    """Whether plots can be drawn (see :func:`load_pyplot`)."""
    try:
        load_pyplot()
    except ImportError:
        return False
    return True


__all__ = [
    "CURVES_FILE",
    "MATPLOTLIB_MISSING",
    "METRICS_FILE",
    "load_pyplot",
    "matplotlib_available",
    "plot_learning_curves",
    "write_run_metrics",
]
