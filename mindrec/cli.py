"""The command lines of the main job, ``scripts/train.py`` and ``scripts/evaluate.py``.

Options are parsed here before anything heavy is imported (the argument dataclasses and
:mod:`mindrec.cli_args` need only the standard library), so ``--help`` and option errors answer at once;
the run itself is :mod:`mindrec.pipeline`.

``scripts/evaluate.py`` takes its option defaults from the model folder it scores: the run's data
options (``mindrec_run.json``), its saved decoding (``generation_config.json``: strategy, beams, items,
history cache, history exclusion) and its cut-offs K when they fit the items returned. The command line
still overrides every one of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mindrec.training.arguments import (
    EVALUATE_MODEL_OPTIONS,
    TRAIN_ARGUMENT_TYPES,
    DataArguments,
    DecodingArguments,
    EvaluateModelArguments,
)
from mindrec.training.config_loading import parse_arguments

# The main job (python -m mindrec); configs/default_synthetic.yaml holds the same values. Chosen on the
# synthetic catalogue's VALIDATION split (500 users, NDCG@10; popularity .039): the MindRec schedule
# (constant, then decay over the last 10%) beat linear decay (8 epochs: .176 vs .160), rq-kmeans SIDs
# beat OPQ ones (.176 vs .168), and the prompt cache decodes 2.9x faster than exact decoding at equal
# quality (.1711 vs .1703 on all 2000 users). 6 epochs (.151) rather than 8 keep the job near 3 CPU-minutes.
MAIN_JOB_DEFAULTS: dict[str, Any] = {
    "output_dir": "runs/main_job",
    "synthetic_num_users": 2000,
    "synthetic_num_items": 1000,
    "max_history": 10,
    "num_category_levels": 3,
    "num_sid_digits": 3,
    "codebook_size": 16,
    "quantizer": "rq-kmeans",
    "hidden_size": 128,
    "intermediate_size": 512,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "history_encoding": "pooled",
    "learning_rate": 3e-3,
    "train_batch_size": 256,
    "num_epochs": 6,
    "lr_schedule": "mindrec",
    "warmup_steps": 20,
    "mask_eps": 0.4,
    "eval_steps": 154,
    "validation_max_users": 500,
    "history_cache": "prompt_cache",
    "eval_batch_size": 250,
    "logging_steps": 50,
}

RUN_FILE = "mindrec_run.json"  # mindrec.training.model_io.RUN_FILE (that module imports torch)
GENERATION_CONFIG_FILE = "generation_config.json"
# generation_config.json key -> the evaluation option that sets it.
DECODING_OPTIONS = {
    "decoding_strategy": "strategy",
    "num_beams": "num_beams",
    "num_return_items": "num_return_items",
    "history_cache": "history_cache",
    "exclude_history": "exclude_history",
    "retrieval_weight": "retrieval_weight",
    "popularity_adjustment": "popularity_adjustment",
    "recency_adjustment": "recency_adjustment",
    "transition_adjustment": "transition_adjustment",
    "brand_adjustment": "brand_adjustment",
    "transition_decay": "transition_decay",
    "transition_conditioning": "transition_conditioning",
    "transition_gap_decay": "transition_gap_decay",
    "rare_item_generative_weight": "rare_item_generative_weight",
}


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def model_folder_defaults(model_dir: str | Path) -> dict[str, Any]:
    """Option defaults from a model folder: its run's data options, its saved decoding and cut-offs."""
    folder = Path(model_dir)
    run = _read_json(folder / RUN_FILE)
    data_options = {item.name for item in dataclasses.fields(DataArguments)}
    defaults = {key: value for key, value in run.get("data", {}).items() if key in data_options}
    saved = _read_json(folder / GENERATION_CONFIG_FILE)
    defaults.update({option: saved[key] for key, option in DECODING_OPTIONS.items() if key in saved})
    num_return_items = defaults.get("num_return_items")
    ks = run.get("evaluation", {}).get("eval_ks")
    if num_return_items is not None:
        if not ks or max(ks) > num_return_items:
            ks = [k for k in (1, 5, 10) if k <= num_return_items] or [num_return_items]
        defaults["eval_ks"] = ks
    return defaults


def saved_evaluation_defaults(args: Sequence[str]) -> dict[str, Any]:
    """:func:`model_folder_defaults` of the folder named by ``--model_dir`` in ``args`` (``{}`` without one)."""
    peek = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    peek.add_argument(*EVALUATE_MODEL_OPTIONS, dest="model_dir")
    model_dir = peek.parse_known_args(list(args))[0].model_dir
    if not model_dir or not Path(model_dir).is_dir():
        return {}
    return model_folder_defaults(model_dir)


EVALUATE_DESCRIPTION = """Score a saved model folder on a split next to popularity, print the table and write
--metrics_json (plus the table as a .md beside it) and, with --predictions_jsonl, every user's ranked list.
The data options default to those the model was trained with (its mindrec_run.json) and the decoding
options to its generation_config.json; the command line overrides both."""


def evaluate_main(args: Sequence[str] | None = None, prog: str | None = None) -> dict[str, dict[str, float]]:
    """``scripts/evaluate.py`` (see :data:`EVALUATE_DESCRIPTION`); returns ``{row: metrics}``."""
    args = list(sys.argv[1:] if args is None else args)
    parsed = parse_arguments(
        (EvaluateModelArguments, DataArguments, DecodingArguments),
        args,
        defaults=saved_evaluation_defaults(args),
        description=EVALUATE_DESCRIPTION,
        prog=prog,
        exit_on_error=True,
    )
    from mindrec.pipeline import evaluate_and_report

    return evaluate_and_report(*parsed)


def train_main(
    args: Sequence[str] | None = None,
    defaults: dict[str, Any] | None = None,
    description: str | None = None,
    prog: str | None = None,
):
    """``scripts/train.py`` and ``python -m mindrec``: parse options (``--config`` YAML + command line), run,
    print the report on the main process; returns the :class:`~mindrec.pipeline.RunResult`."""
    arguments = parse_arguments(
        TRAIN_ARGUMENT_TYPES, args, defaults=defaults, description=description, prog=prog, exit_on_error=True
    )
    from mindrec.pipeline import run_and_report

    return run_and_report(*arguments)


__all__ = [
    "DECODING_OPTIONS",
    "EVALUATE_DESCRIPTION",
    "MAIN_JOB_DEFAULTS",
    "evaluate_main",
    "model_folder_defaults",
    "saved_evaluation_defaults",
    "train_main",
]
