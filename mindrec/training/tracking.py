"""Experiment trackers through accelerate: ``--report_to tensorboard`` (or wandb, mlflow, ...), off by default.

The trainer logs ``train/loss`` and ``train/learning_rate`` at every logging step and
``validation/<metric>`` at every validation to the trackers named here; with none named nothing is
logged (``accelerator.log`` is a no-op). Trackers write under ``<output_dir>/logs`` (TensorBoard:
``tensorboard --logdir runs/x/logs``). A tracker whose package is missing is an error at option-parsing
time naming the package (TensorBoard ships with ``pip install "mindrec[tracking]"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# accelerate's LoggerType values -> the package each needs (its is_<name>_available check).
TRACKERS: dict[str, str] = {
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "mlflow": "mlflow",
    "comet_ml": "comet_ml",
    "aim": "aim",
    "clearml": "clearml",
    "dvclive": "dvclive",
    "trackio": "trackio",
    "swanlab": "swanlab",
}
LOGS_FOLDER = "logs"


def check_report_to(report_to: Sequence[str]) -> None:
    """Raise a ValueError for an unknown tracker or one whose package is not installed (naming it)."""
    import accelerate.utils

    for name in report_to:
        if name not in TRACKERS:
            raise ValueError(f"`report_to` holds {name!r}; the trackers are {sorted(TRACKERS)}.")
        if not getattr(accelerate.utils, f"is_{name}_available")():
            extra = ' (or pip install "mindrec[tracking]")' if name == "tensorboard" else ""
            raise ValueError(
                f"--report_to {name} needs the {TRACKERS[name]} package, which is not installed: "
                f"pip install {TRACKERS[name]}{extra}."
            )


def tracker_options(report_to: Sequence[str], output_dir: str | Path) -> dict[str, Any]:
    """``Accelerator`` keywords that enable ``report_to`` (``{}`` when empty)."""
    if not report_to:
        return {}
    return {"log_with": list(report_to), "project_dir": str(Path(output_dir) / LOGS_FOLDER)}


def flat_config(options: Mapping[str, Any]) -> dict[str, Any]:
    """Run options as tracker hyperparameters: scalars kept, lists joined, unset ones dropped."""
    flat = {}
    for key, value in options.items():
        if isinstance(value, (list, tuple)):
            value = " ".join(str(item) for item in value)
        if value is not None:
            flat[key] = value
    return flat


__all__ = ["LOGS_FOLDER", "TRACKERS", "check_report_to", "flat_config", "tracker_options"]
