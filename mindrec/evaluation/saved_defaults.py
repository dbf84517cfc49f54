"""The option defaults ``scripts/evaluate.py`` takes from the model folder it scores.

A folder written by training holds ``mindrec_run.json`` (the run's options by group) and
``generation_config.json`` (how the model decodes). Evaluating it without repeating options must decode
as the folder says: its data options, its decoding strategy, beams, items, history cache and history
exclusion, and its cut-offs K (when they fit the items returned). The command line still overrides
every one of them. Only json is read here: no model is loaded before the options are parsed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RUN_FILE = "mindrec_run.json"
GENERATION_CONFIG_FILE = "generation_config.json"
# generation_config.json key -> the evaluation option that sets it.
DECODING_OPTIONS = {
    "decoding_strategy": "strategy",
    "num_beams": "num_beams",
    "num_return_items": "num_return_items",
    "history_cache": "history_cache",
    "exclude_history": "exclude_history",
}
DATA_OPTIONS = ("data", "data_format", "max_history", "max_users", "synthetic_num_users",
                "synthetic_num_items", "synthetic_seed", "items", "user_column", "item_column",
                "timestamp_column", "category_separator")  # fmt: skip


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def model_folder_defaults(model_dir: str | Path) -> dict[str, Any]:
    """Option defaults from a model folder: its run's data options, its saved decoding and cut-offs."""
    folder = Path(model_dir)
    run = _read_json(folder / RUN_FILE)
    defaults = {key: value for key, value in run.get("data", {}).items() if key in DATA_OPTIONS}
    saved = _read_json(folder / GENERATION_CONFIG_FILE)
    defaults.update({option: saved[key] for key, option in DECODING_OPTIONS.items() if key in saved})
    num_return_items = defaults.get("num_return_items")
    ks = run.get("evaluation", {}).get("eval_ks")
    if num_return_items is not None:
        if not ks or max(ks) > num_return_items:
            ks = [k for k in (1, 5, 10) if k <= num_return_items] or [num_return_items]
        defaults["eval_ks"] = ks
    return defaults


def saved_evaluation_defaults(
    args: Sequence[str], option_names: Sequence[str] = ("--model_dir", "--model-dir", "--model")
) -> dict[str, Any]:
    """:func:`model_folder_defaults` of the folder named by ``--model_dir`` in ``args`` (``{}`` without one)."""
    peek = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    peek.add_argument(*option_names, dest="model_dir")
    model_dir = peek.parse_known_args(list(args))[0].model_dir
    if not model_dir or not Path(model_dir).is_dir():
        return {}
    return model_folder_defaults(model_dir)


__all__ = ["DECODING_OPTIONS", "model_folder_defaults", "saved_evaluation_defaults"]
