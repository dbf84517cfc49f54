"""Quality against decoding cost: NDCG@10 (y) versus test users decoded per second (x, log scale)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..io_utils import atomic_write_with
from ..training.run_history import load_pyplot


def require_matplotlib() -> None:
    """Raise an ImportError naming the ``bench`` extra when matplotlib is absent.

    The benchmark scripts call it before they train anything: the plots are written last, an hour later.
    """
    load_pyplot()


def plot_quality_vs_speed(
    summary: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    title: str | None = None,
    metric: str = "ndcg@10",
) -> Path:
    """Write a PNG scatter plot of ``metric`` against decoding speed, one labelled point per model.

    Error bars are the std over seeds on both axes. The PNG is written atomically (a temporary file in
    the same folder, then a rename).

    Args:
        summary: rows of :func:`~mindrec.benchmark.report.summarize_runs`.
        path: the ``.png`` to write.
        title: plot title.
        metric: the quality field on the y axis.

    Raises:
        ImportError: matplotlib is not installed (the ``bench`` extra).
        ValueError: an empty summary, or a model with a non-positive decoding speed (log axis).
    """
    plt = load_pyplot()
    if not summary:
        raise ValueError("the summary is empty; nothing to plot")
    for row in summary:
        if row["decode_users_per_second"]["mean"] <= 0:
            raise ValueError(
                f"model {row['model']!r} has decoding speed {row['decode_users_per_second']['mean']}; the log "
                "axis needs speeds > 0"
            )

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(8.5, 5.0), dpi=120)
    markers = "osD^vP*Xph<>"
    try:
        # A legend rather than point labels: decoders of one model sit close together and labels collide.
        for position, row in enumerate(summary):
            speed, quality = row["decode_users_per_second"], row[metric]
            axes.errorbar(
                speed["mean"],
                quality["mean"],
                xerr=speed["std"],
                yerr=quality["std"],
                fmt=markers[position % len(markers)],
                capsize=3,
                label=row["model"],
            )
        axes.set_xscale("log")
        axes.set_xlabel("decoding speed (test users / s, log scale)")
        axes.set_ylabel(metric.upper())
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
        if title:
            axes.set_title(title)
        figure.tight_layout()
        atomic_write_with(path, lambda tmp: figure.savefig(tmp, format="png"))
    finally:
        plt.close(figure)
    return path


__all__ = ["plot_quality_vs_speed"]
