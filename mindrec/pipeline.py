"""The end-to-end job: data -> item codes -> tokenizer -> model -> training -> test next to popularity.

``scripts/train.py`` runs :func:`run` with the options it is given; ``python -m mindrec`` (the main job)
runs it on the synthetic catalogue with :data:`MAIN_JOB_DEFAULTS` and prints a results table and a few
example recommendations with their category paths.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import set_seed

from mindrec.baselines.popularity import (
    PopularityRecommender,
    decoding_counts,
)
from mindrec.cli import MAIN_JOB_DEFAULTS  # re-exported: the main job's settings (python -m mindrec)
from mindrec.data import item_brand_ids
from mindrec.evaluation.metrics import format_metrics_table
from mindrec.evaluation.model_evaluation import EvaluationResult, evaluate_recommender, popularity_recommender
from mindrec.io_utils import atomic_write_json, atomic_write_text
from mindrec.logging_setup import setup_logging
from mindrec.training.arguments import (
    CodeArguments,
    DataArguments,
    DecodingArguments,
    EvaluationArguments,
    ModelArguments,
    TrainingArguments,
    check_decoding_grid,
    check_transition_counting,
)
from mindrec.training.checkpointing import (
    check_resume_code_table,
    data_fingerprint,
    model_signature,
    output_dir_lock,
    prepare_output_dir,
)
from mindrec.training.data_setup import (
    CODE_TABLE_FILE,
    align_code_table,
    item_content_vectors,
    load_data,
    load_or_build_code_table,
)
from mindrec.training.model_io import load_trained_model, save_trained_model
from mindrec.training.model_unwrap import unwrap_task_model
from mindrec.training.trainer import (
    BEST_FOLDER,
    FINAL_FOLDER,
    Trainer,
    TrainOutput,
    close_processes,
    make_accelerator,
)

logger = logging.getLogger(__name__)

MODEL_LABELS = {"mindrec": "MindRec", "deftrec": "DeftRec"}


@dataclass
class RunResult:
    """What :func:`run` returns: the training output, the test results per row name, the tokenizer."""

    train: TrainOutput
    test: dict[str, EvaluationResult] = field(default_factory=dict)
    tokenizer: Any = None
    data: Any = None
    seconds: float = 0.0
    # With ``decoding_grid``: the values tried on validation (see mindrec.training.decoding_search).
    decoding_search: list[dict[str, Any]] = field(default_factory=list)


def small_model_width(model_args: ModelArguments) -> int | None:
    """The width that decides ``mixed_precision="auto"`` on a CPU (unknown before loading an LLM backbone)."""
    return None if model_args.model_setting == "llm" else model_args.hidden_size


def warn_single_process_cpu_launch(accelerator) -> None:
    """``accelerate launch --cpu --num_processes N`` (N > 1) starts ONE process in accelerate 1.x (multi-CPU
    needs an MPI hostfile); it only leaves MASTER_ADDR behind. Say so rather than train silently alone."""
    launched_for_many = "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ
    if (
        accelerator.num_processes == 1
        and os.environ.get("ACCELERATE_USE_CPU", "").lower() == "true"
        and launched_for_many
    ):
        logger.warning(
            "accelerate launch --cpu started a single process. For CPU data parallel use "
            "`accelerate launch --multi_gpu --num_processes N scripts/train.py ...` (gloo on a machine without CUDA)."
        )


def _shared_code_table(
    data, code_args: CodeArguments, train_args: TrainingArguments, accelerator, item_vectors=None
) -> dict[str, Any]:
    """Build (or load) the code table on the main process, write it to ``output_dir``, read it everywhere.

    When resuming, the table must be the checkpoint's (checked before the file is written).
    """
    from mindrec.tokenization.tokenization_mindrec import code_table_digest, read_item_codes, write_item_codes

    output_dir = Path(train_args.output_dir)
    path = output_dir / CODE_TABLE_FILE
    if accelerator.is_main_process:
        table = load_or_build_code_table(
            data, code_args, show_progress=train_args.show_progress, item_vectors=item_vectors
        )
        if train_args.resume_from_checkpoint is not None:
            check_resume_code_table(train_args.resume_from_checkpoint, output_dir, code_table_digest(table))
        output_dir.mkdir(parents=True, exist_ok=True)
        write_item_codes(path, table)
    accelerator.wait_for_everyone()
    return align_code_table(read_item_codes(path), data.item_ids, source=str(path))


def build_run(
    data_args: DataArguments,
    code_args: CodeArguments,
    model_args: ModelArguments,
    train_args: TrainingArguments,
    eval_args: EvaluationArguments,
    accelerator,
):
    """Data, model, tokenizer (None for DeftRec), task and the checkpoint signature of a run."""
    from mindrec.training.model_setup import build_deftrec_model, build_item_tokenizer, build_small_model
    from mindrec.training.tasks import DeftRecTask, MindRecTask

    check_transition_counting(model_args, eval_args)
    check_decoding_grid(model_args, eval_args)
    data = load_data(data_args)
    logger.info("Data %r: %s", data.name, data.statistics())
    check_decoding_fits(eval_args, data.num_items)
    warn_unreachable_targets(data, eval_args.exclude_history)
    set_seed(train_args.seed)  # model initialisation
    tokenizer = generation_config = None
    lora = None
    if model_args.model_type == "deftrec":
        model = build_deftrec_model(data, model_args, data_args, seed=train_args.seed)
        task = DeftRecTask(
            data.num_items,
            model.config.max_history,
            model_args.deftrec_num_negatives,
            eval_args.num_return_items,
            eval_args.exclude_history,
            seed=train_args.seed,
        )
    else:
        item_features = None
        if model_args.item_content_features:
            # Every process computes them (deterministic given code_seed): they become model weights.
            item_features = item_content_vectors(data, code_args, show_progress=train_args.show_progress)
        code_table = _shared_code_table(data, code_args, train_args, accelerator, item_vectors=item_features)
        set_seed(train_args.seed)
        if model_args.model_setting == "llm":
            from mindrec.training.llm_setting import build_llm_model

            model, tokenizer = build_llm_model(code_table, model_args, data_args, train_args.mask_eps)
            lora = {"r": model_args.lora_r, "alpha": model_args.lora_alpha}
        else:
            tokenizer = build_item_tokenizer(code_table, model_args, data_args)
            model = build_small_model(
                tokenizer,
                model_args,
                mask_eps=train_args.mask_eps,
                item_features=item_features,
                item_brand_ids=(
                    item_brand_ids(data.items)
                    if model_args.item_retrieval_head or model_args.brand_embeddings
                    else None
                ),
                **(
                    decoding_counts(data.splits, data.num_items, "validation", eval_args.transition_gap_decay)
                    if model_args.item_retrieval_head
                    else {}
                ),
            )
        generation_config = generation_config_from(eval_args)
        unwrap_task_model(model).generation_config = generation_config
        task = MindRecTask(tokenizer, generation_config, ocn=train_args.ocn)
    from mindrec.tokenization.tokenization_mindrec import code_table_digest

    signature = model_signature(
        model_args.model_type,
        model_args.model_setting,
        unwrap_task_model(model).config,
        lora,
        data_sha256=data_fingerprint(data),
        code_table_sha256=code_table_digest(tokenizer.code_table) if tokenizer is not None else None,
    )
    return data, model, tokenizer, generation_config, task, signature


def check_decoding_fits(eval_args: EvaluationArguments, num_items: int) -> None:
    """Raise a ValueError before training when the decoding options cannot work on this catalogue (the
    first validation would otherwise fail after the first epoch)."""
    if eval_args.num_return_items > num_items:
        raise ValueError(
            f"num_return_items (K = {eval_args.num_return_items}) is larger than the catalogue ({num_items} items): "
            "no decoder can return K distinct items; lower num_return_items (and eval_ks)."
        )


def repeated_targets(data) -> dict[str, tuple[int, int]]:
    """``{split: (rows whose target is an item of their history, rows)}`` for validation and test."""
    counts = {}
    for split in ("validation", "test"):
        rows = data.splits[split]
        repeats = sum(target in history for history, target in zip(rows["history"], rows["target"], strict=True))
        counts[split] = (repeats, len(rows))
    return counts


def warn_unreachable_targets(data, exclude_history: bool) -> None:
    """Warn when ``exclude_history`` hides evaluation targets: on data where users come back to an item (unlike
    Beauty's or MovieLens' ratings), a target already in the history can never be recommended, and the metrics cannot
    reach 1."""
    if not exclude_history:
        return
    counts = repeated_targets(data)
    if any(repeats for repeats, _ in counts.values()):
        logger.warning(
            "exclude_history=True, but %s repeat an item of their user's history: no recommendation can reach them "
            "(exclude_history=False lets history items be recommended).",
            " and ".join(
                f"{repeats:,} of {rows:,} {split} targets ({repeats / rows:.1%})"
                for split, (repeats, rows) in counts.items()
            ),
        )


def run_record(*arguments) -> dict[str, Any]:
    """The run's options by group, as saved in ``mindrec_run.json`` and the metrics JSON."""
    names = ("data", "codes", "model", "training", "evaluation")
    return {name: asdict(item) for name, item in zip(names, arguments, strict=True)}


def generation_config_from(eval_args: DecodingArguments, base=None):
    """The ``RecommendationGenerationConfig`` of the evaluation options.

    With ``base`` (a saved model's config) the options are laid over a copy of it, so that what the
    options do not name (``temperature``, ``tokens_per_step``) stays as saved.
    """
    import copy

    from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig

    options = {
        "decoding_strategy": eval_args.strategy,
        "num_beams": eval_args.num_beams,
        "num_return_items": eval_args.num_return_items,
        "history_cache": eval_args.history_cache,
        "exclude_history": eval_args.exclude_history,
        "retrieval_weight": eval_args.retrieval_weight,
        "popularity_adjustment": eval_args.popularity_adjustment,
        "recency_adjustment": eval_args.recency_adjustment,
        "transition_adjustment": eval_args.transition_adjustment,
        "brand_adjustment": eval_args.brand_adjustment,
        "transition_decay": eval_args.transition_decay,
        "transition_conditioning": eval_args.transition_conditioning,
        "transition_gap_decay": eval_args.transition_gap_decay,
        "rare_item_generative_weight": eval_args.rare_item_generative_weight,
    }
    if base is None:
        return RecommendationGenerationConfig(**options)
    config = copy.deepcopy(base)
    if options["decoding_strategy"] != "low_confidence":
        options["tokens_per_step"] = None  # a low_confidence-only option of the saved strategy
    config.update(**options)
    return config


def check_same_items(model_item_ids: Sequence[str], data) -> None:
    """Raise a ValueError when a model's catalogue is not the dataset's item table (same ids, same order)."""
    data_ids = data.item_ids
    if list(model_item_ids) == list(data_ids):
        return
    if len(model_item_ids) != len(data_ids):
        raise ValueError(
            f"The model's catalogue has {len(model_item_ids)} items but the dataset has {len(data_ids)}: "
            "evaluate on the data (and max_users / max_history) the model was trained on."
        )
    row = next(row for row, (a, b) in enumerate(zip(model_item_ids, data_ids, strict=True)) if a != b)
    raise ValueError(
        f"Item index {row} is {model_item_ids[row]!r} in the model's code table but {data_ids[row]!r} in the dataset."
    )


def evaluate_mindrec(
    trained,
    data,
    options: DecodingArguments,
    accelerator,
    split: str,
    show_progress: bool = True,
    max_users: int | None = None,
    subset_seed: int = 0,
) -> EvaluationResult:
    """A loaded MindRec model (:func:`load_trained_model`) decoded on ``split`` with the decoding ``options`` laid over
    its saved generation config, the decoding priors' counts as of the split's targets (``max_users``: the fixed
    subset checkpoint selection scores, seeded by ``subset_seed``)."""
    from mindrec.training.model_setup import install_item_brands, install_item_counts
    from mindrec.training.tasks import MindRecTask

    check_same_items(trained.tokenizer.code_table["item_ids"], data)
    # Selected with the counts as of the validation targets; each split is decoded with those as of its own.
    generation_config = generation_config_from(options, base=trained.generation_config)
    gap_decay = generation_config.transition_gap_decay
    install_item_counts(trained.model, **decoding_counts(data.splits, data.num_items, split, gap_decay))
    # Item metadata, the same for every split (check_same_items above); installed here too so that a checkpoint saved
    # before the model kept brands decodes with `brand_adjustment`.
    install_item_brands(trained.model, item_brand_ids(data.items))
    logger.info("Decoding %s with %s", split, generation_config.to_diff_dict())
    with accelerator.autocast():
        return evaluate_recommender(
            MindRecTask(trained.tokenizer, generation_config).recommender(trained.model),
            data.splits[split],
            data.num_items,
            ks=options.eval_ks,
            batch_size=options.eval_batch_size,
            max_users=max_users,
            subset_seed=subset_seed,
            show_progress=show_progress,
            description=split,
            accelerator=accelerator,
        )


def evaluate_saved_model(
    model_dir: Path,
    data,
    eval_args: EvaluationArguments,
    accelerator,
    split: str = "test",
    show_progress: bool = True,
    seed: int = 0,
):
    """Metrics of a saved model on ``split`` next to popularity: ``({row name: EvaluationResult}, tokenizer)``."""
    from mindrec.training.tasks import DeftRecTask

    trained = load_trained_model(model_dir, device=accelerator.device)
    model_type = trained.run.get("model", {}).get("model_type", "mindrec")
    common = {
        "split": data.splits[split],
        "num_items": data.num_items,
        "ks": eval_args.eval_ks,
        "batch_size": eval_args.eval_batch_size,
        "show_progress": show_progress,
        "accelerator": accelerator,
    }
    if model_type == "deftrec":
        config = trained.model.config
        if config.num_items != data.num_items:
            raise ValueError(
                f"The model ranks {config.num_items} items but the dataset has {data.num_items}."
            )
        task = DeftRecTask(
            data.num_items,
            config.max_history,
            num_negatives=0,
            num_return_items=eval_args.num_return_items,
            exclude_history=eval_args.exclude_history,
            seed=seed,
        )
        with accelerator.autocast():
            model_result = evaluate_recommender(task.recommender(trained.model), description=split, **common)
    else:
        model_result = evaluate_mindrec(trained, data, eval_args, accelerator, split, show_progress)
    popularity = PopularityRecommender.from_train_split(data.splits["train"], data.num_items)
    popularity_result = evaluate_recommender(
        popularity_recommender(popularity, eval_args.num_return_items, eval_args.exclude_history),
        description="popularity",
        **common,
    )
    return {MODEL_LABELS[model_type]: model_result, "popularity": popularity_result}, trained.tokenizer


def run(
    data_args: DataArguments,
    code_args: CodeArguments,
    model_args: ModelArguments,
    train_args: TrainingArguments,
    eval_args: EvaluationArguments,
    accelerator=None,
) -> RunResult:
    """Train, select on validation, test next to popularity and write the metrics (see module docstring).

    The main process holds ``output_dir``'s lock for the whole run (a second run on it fails at once, naming
    the holder) and checks it before anything is written there (checkpoints of another run are refused).
    """
    started = time.perf_counter()
    if train_args.num_threads is not None:
        torch.set_num_threads(train_args.num_threads)
    accelerator = accelerator or make_accelerator(
        train_args.mixed_precision, small_model_width(model_args), train_args.report_to, train_args.output_dir
    )
    setup_logging(train_args.log_level, main_process=accelerator.is_main_process)
    warn_single_process_cpu_launch(accelerator)
    main = accelerator.is_main_process
    with output_dir_lock(train_args.output_dir) if main else contextlib.nullcontext():
        if main:
            prepare_output_dir(
                train_args.output_dir,
                train_args.resume_from_checkpoint,
                train_args.overwrite_output_dir,
                model_folders=(BEST_FOLDER, FINAL_FOLDER),
            )
        accelerator.wait_for_everyone()
        return _run(data_args, code_args, model_args, train_args, eval_args, accelerator, started)


def _run(data_args, code_args, model_args, train_args, eval_args, accelerator, started: float) -> RunResult:
    """:func:`run` once the output folder is locked and checked."""
    data, model, tokenizer, generation_config, task, signature = build_run(
        data_args, code_args, model_args, train_args, eval_args, accelerator
    )
    record = run_record(data_args, code_args, model_args, train_args, eval_args)

    def save_model(directory: Path, trained_model) -> None:
        save_trained_model(directory, trained_model, tokenizer, generation_config, record)

    trainer = Trainer(
        model,
        task,
        data.splits["train"],
        data.splits["validation"],
        train_args,
        eval_args,
        signature=signature,
        save_model=save_model,
        accelerator=accelerator,
    )
    output = trainer.train()
    result = RunResult(train=output, tokenizer=tokenizer, data=data)
    model_dir = output.best_dir or output.final_dir
    if eval_args.decoding_grid:
        if output.best_dir is None:
            logger.warning("decoding_grid was not searched: the run never validated, so it has no best/ model.")
        else:
            from mindrec.training.decoding_search import choose_decoding_on_validation

            eval_args, result.decoding_search = choose_decoding_on_validation(
                output.best_dir, data, eval_args, accelerator, train_args.seed, train_args.show_progress
            )
    if eval_args.do_test:
        result.test, _ = evaluate_saved_model(
            model_dir, data, eval_args, accelerator, "test", train_args.show_progress, train_args.seed
        )
    result.seconds = time.perf_counter() - started
    if accelerator.is_main_process:
        write_results(result, record, Path(train_args.output_dir), eval_args.metrics_json)
    return result


def results_table(results: dict[str, EvaluationResult], ks: Sequence[int], split: str = "test") -> str:
    """Markdown table of a split's metrics (HR@K, NDCG@K, MRR, validity, users/s) per row, headed by the split."""
    columns = [f"{name}@{k}" for name in ("hr", "ndcg") for k in ks] + ["mrr", "validity", "users_per_second"]
    rows = {}
    for label, evaluation in results.items():
        rows[label] = {column: evaluation.metrics[column] for column in columns}
        rows[label]["users_per_second"] = round(evaluation.metrics["users_per_second"], 1)
    return format_metrics_table(rows, first_column=split)


def ratio_line(test: dict[str, EvaluationResult], metric: str = "ndcg@10") -> str | None:
    """``"MindRec NDCG@10 is 3.1x popularity's (0.1234 vs 0.0400)"`` when both rows exist."""
    labels = [label for label in test if label != "popularity"]
    if not labels or "popularity" not in test or metric not in test["popularity"].metrics:
        return None
    ours, theirs = test[labels[0]].metrics[metric], test["popularity"].metrics[metric]
    name = metric.upper()
    if theirs == 0:
        return f"{labels[0]} {name} is {ours:.4f}; popularity scores 0."
    return f"{labels[0]} {name} is {ours / theirs:.1f}x popularity's ({ours:.4f} vs {theirs:.4f})."


def write_results(
    result: RunResult, record: dict[str, Any], output_dir: Path, metrics_json: str | None
) -> None:
    """``output_dir/test_metrics.md`` and the metrics JSON (``metrics_json`` or ``output_dir/metrics.json``)."""
    payload = {
        "test": {label: evaluation.metrics for label, evaluation in result.test.items()},
        "validation": result.train.validation,
        "best_step": result.train.best_step,
        "best_validation_metric": result.train.best_metric,
        "global_step": result.train.global_step,
        "decoding_search": result.decoding_search,
        "train_seconds": round(result.train.train_seconds, 2),
        "total_seconds": round(result.seconds, 2),
        "run": record,
    }
    atomic_write_json(
        Path(metrics_json) if metrics_json else output_dir / "metrics.json",
        json.loads(json.dumps(payload, default=str)),
    )
    if result.test:
        atomic_write_text(
            output_dir / "test_metrics.md", results_table(result.test, record["evaluation"]["eval_ks"])
        )


EXAMPLE_TITLE_CHARACTERS = 60  # an example line shows this much of an item's title


def example_lines(result: RunResult, num_users: int = 3, num_items: int = 5) -> list[str]:
    """A few test users: their last history items and top recommendations, each as its id, its title (cut to
    ``EXAMPLE_TITLE_CHARACTERS``) where the catalogue has one, and its category path where it has one."""
    tokenizer, data = result.tokenizer, result.data
    label = next((name for name in result.test if name != "popularity"), None)
    if tokenizer is None or label is None:
        return []
    evaluation = result.test[label]
    item_ids = data.item_ids
    titles = data.items["title"]  # every prepared item table has the column (ITEM_FEATURES); "" when unknown

    def describe(index: int) -> str:
        title = " ".join((titles[index] or "").split())
        if len(title) > EXAMPLE_TITLE_CHARACTERS:
            title = title[: EXAMPLE_TITLE_CHARACTERS - 3] + "..."
        path = " > ".join(tokenizer.category_names(index))
        return " ".join([item_ids[index], *([f'"{title}"'] if title else []), *([f"[{path}]"] if path else [])])

    test = data.splits["test"]
    row_of = {user: row for row, user in enumerate(test["user_id"])}
    lines = []
    for user_id, ranked, target in list(
        zip(evaluation.user_ids, evaluation.item_lists.tolist(), evaluation.targets.tolist(), strict=True)
    )[:num_users]:
        history = test[row_of[user_id]]["history"]
        lines.append(f"user {user_id}")
        lines.append("  last items: " + "; ".join(describe(index) for index in history[-3:]))
        lines.append(f"  next item:  {describe(target)}")
        for position, index in enumerate(ranked[:num_items], 1):
            mark = "  <- hit" if index == target else ""
            lines.append(f"  {position}. {describe(index)}{mark}" if index >= 0 else f"  {position}. (none)")
    return lines


def decoding_search_line(trials: Sequence[dict[str, Any]]) -> str:
    """``"Decoding options chosen on validation: rare_item_generative_weight 20 (0: 0.0790, 20: 0.0799)."``"""
    by_option: dict[str, list[dict[str, Any]]] = {}
    for trial in trials:
        by_option.setdefault(trial["option"], []).append(trial)
    described = []
    for option, tried in by_option.items():
        best = next(trial for trial in tried if trial.get("chosen"))
        values = ", ".join(
            f"{trial['value']:g}: {trial['metric']:.4f}" if "metric" in trial else f"{trial['value']:g}: invalid"
            for trial in tried
        )
        described.append(f"{option} {best['value']:g} ({values})")
    return "Decoding options chosen on validation: " + "; ".join(described) + "."


def report(result: RunResult, eval_args: EvaluationArguments) -> str:
    """The text the CLIs print: results table, the ratio line and example recommendations."""
    parts = []
    if result.test:
        parts.append(results_table(result.test, eval_args.eval_ks))
        line = ratio_line(result.test, f"ndcg@{max(eval_args.eval_ks)}")
        if line:
            parts.append(line)
    if result.decoding_search:
        parts.append(decoding_search_line(result.decoding_search))
    examples = example_lines(result)
    if examples:
        parts.append("Example recommendations (test users):\n" + "\n".join(examples))
    parts.append(f"Total time {result.seconds:.1f}s (training {result.train.train_seconds:.1f}s).")
    return "\n\n".join(parts)


def evaluate_and_report(run_args, data_args, eval_args) -> dict[str, dict[str, float]]:
    """Evaluate parsed ``scripts/evaluate.py`` options: print the table, write the metrics JSON (and its
    ``.md``) and the predictions JSON lines when asked; return ``{row: metrics}``."""
    from mindrec.evaluation.predictions import write_predictions_jsonl

    accelerator = make_accelerator("auto")
    setup_logging(run_args.log_level, main_process=accelerator.is_main_process)
    data = load_data(data_args)
    results, _ = evaluate_saved_model(
        Path(run_args.model_dir),
        data,
        eval_args,
        accelerator,
        run_args.split,
        run_args.show_progress,
        run_args.seed,
    )
    metrics = {label: result.metrics for label, result in results.items()}
    table = results_table(results, eval_args.eval_ks, run_args.split)
    if accelerator.is_main_process:
        if eval_args.metrics_json:
            atomic_write_json(
                eval_args.metrics_json,
                {"split": run_args.split, "model": run_args.model_dir, "metrics": metrics},
            )
            atomic_write_text(Path(eval_args.metrics_json).with_suffix(".md"), table)
        if run_args.predictions_jsonl:
            model_label = next(label for label in results if label != "popularity")
            write_predictions_jsonl(run_args.predictions_jsonl, results[model_label], data.item_ids)
        print(table, flush=True)
    close_processes(accelerator)
    problem = incomplete_lists(results, eval_args.num_return_items)
    if problem:
        raise SystemExit(f"error: {problem}")
    return metrics


def incomplete_lists(results: dict[str, EvaluationResult], k: int) -> str | None:
    """Why a model's ranked lists cannot be trusted (validity < 1: empty or invalid slots), or None.

    Zeros in the table would otherwise pass for a bad model when the model (or its files) is broken.
    """
    for label, result in results.items():
        if result.metrics["validity"] >= 1.0:
            continue
        lists = result.item_lists
        short = int(((lists < 0).any(dim=1)).sum()) if lists.numel() else len(result.targets)
        return (
            f"{label}: validity {result.metrics['validity']:.4f} < 1 ({short} of {len(result.targets)} users got "
            f"fewer than K={k} valid items); the scores above are not a fair measure of the model"
        )
    return None


def run_and_report(data_args, code_args, model_args, train_args, eval_args) -> RunResult:
    """Run parsed training options and print the report on the main process."""
    accelerator = make_accelerator(
        train_args.mixed_precision, small_model_width(model_args), train_args.report_to, train_args.output_dir
    )
    result = run(data_args, code_args, model_args, train_args, eval_args, accelerator=accelerator)
    if accelerator.is_main_process:
        print(report(result, eval_args), flush=True)
    close_processes(accelerator)
    return result


def evaluate_main(args: Sequence[str] | None = None, prog: str | None = None) -> dict[str, dict[str, float]]:
    """``scripts/evaluate.py`` (:func:`mindrec.cli.evaluate_main`)."""
    from mindrec.cli import evaluate_main as cli_evaluate_main

    return cli_evaluate_main(args, prog=prog)


def main(
    args: Sequence[str] | None = None,
    defaults: dict[str, Any] | None = None,
    description: str | None = None,
    prog: str | None = None,
) -> RunResult:
    """``scripts/train.py`` / ``python -m mindrec`` (:func:`mindrec.cli.train_main`)."""
    from mindrec.cli import train_main

    return train_main(args, defaults=defaults, description=description, prog=prog)


__all__ = [
    "MAIN_JOB_DEFAULTS",
    "RunResult",
    "build_run",
    "evaluate_and_report",
    "evaluate_main",
    "evaluate_mindrec",
    "evaluate_saved_model",
    "generation_config_from",
    "incomplete_lists",
    "main",
    "report",
    "results_table",
    "run",
    "run_and_report",
]
