"""Run a benchmark protocol end to end: data, item codes, then every plan trained and tested per seed.

Every generative model trains through the package's :class:`~mindrec.training.trainer.Trainer` (the one
training loop), keeps its best-validation checkpoint, and is tested with the same loop and metric code
(:func:`~mindrec.evaluation.model_evaluation.evaluate_recommender`) as popularity and SASRec.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import set_seed

from mindrec.data import PreparedData
from mindrec.evaluation.model_evaluation import (
    RankedItems,
    Recommender,
    evaluate_recommender,
    mindrec_recommender,
    popularity_recommender,
)
from mindrec.io_utils import atomic_write_json
from mindrec.training.arguments import (
    CodeArguments,
    DataArguments,
    EvaluationArguments,
    ModelArguments,
    TrainingArguments,
    check_decoding_grid,
    check_transition_counting,
    decoding_options_of,
    grid_option_names,
    parse_decoding_grid,
)

from .protocols import BenchmarkProtocol, ModelPlan
from .report import TABLE_METRICS, git_commit, hardware_info, summarize_runs

logger = logging.getLogger(__name__)

DEFTREC_MODULE = "mindrec.modeling.modeling_deftrec"
SASREC_ITEM_VECTORS = "item_vectors.npy"
# Where each seed's SASRec is saved (``save_pretrained``), as it ranked test: its validation's credits, test's counts.
SASREC_MODEL_DIR = "model"


@dataclass
class BenchmarkContext:
    """What every plan of one benchmark run shares.

    Attributes:
        protocol: the protocol being run.
        data: the prepared dataset; ``data_args`` the options it was loaded with.
        work_dir: scratch folder for checkpoints (``<plan>/seed<k>/``).
        show_progress: tqdm bars.
        peak_gflops: the machine's measured fp32 matmul throughput (reference of the cost profiles).
        code_tables: built code tables by ``(seed, layout key)``, reused across plans.
        code_table_stats: the statistics of every code table built (collision rate, codebook usage).
        sasrec_item_vectors: per seed, the ``.npy`` file of the SASRec item embeddings trained in this
            run (what a DeftRec plan with ``deftrec_item_vectors="sasrec"`` diffuses over).
        predictions_dir: when set, every row's test lists are written to ``<row>-seed<k>.jsonl`` there
            (:mod:`mindrec.evaluation.predictions`).
        item_content_vectors: the vectors quantised into codes, by the code tables' key, for plans with
            ``item_content_features`` (computed once, then shared with the code table built from them).
        decoding_count_cache: :meth:`decoding_counts` by ``(split, transition gap decay)``.
    """

    protocol: BenchmarkProtocol
    data: PreparedData
    data_args: DataArguments
    work_dir: Path
    show_progress: bool = False
    peak_gflops: float = 0.0
    code_tables: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    code_table_stats: list[dict[str, Any]] = field(default_factory=list)
    sasrec_item_vectors: dict[int, Path] = field(default_factory=dict)
    predictions_dir: Path | None = None
    item_content_vectors: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    decoding_count_cache: dict[tuple[str, float], dict[str, torch.Tensor]] = field(default_factory=dict)

    @property
    def ks(self) -> list[int]:
        return list(self.protocol.evaluation["eval_ks"])

    def evaluation_args(self, plan: ModelPlan, row: str | None = None) -> EvaluationArguments:
        """The protocol's evaluation options with the plan's and (for a test row) the row's overrides."""
        return plan_evaluation_args(self.protocol, plan, row)

    def decoding_counts(self, split: str, transition_gap_decay: float = 0.0) -> dict[str, torch.Tensor]:
        """The decoding priors' counts as of the targets of ``split`` (``mindrec.baselines.decoding_counts``; computed
        once per split and gap decay). Models train and select their checkpoints with the validation ones; for test
        each user's validation interaction is observed, so the recency counts read it and the transitions count its
        pairs."""
        from mindrec.baselines.popularity import decoding_counts

        key = (split, float(transition_gap_decay))
        if key not in self.decoding_count_cache:
            self.decoding_count_cache[key] = decoding_counts(
                self.data.splits, self.data.num_items, split, transition_gap_decay
            )
        return self.decoding_count_cache[key]

    @property
    def item_counts(self) -> torch.Tensor:
        """``[num_items]`` training interaction counts: what makes a test target cold (``cold_ndcg@K``)."""
        return self.decoding_counts("validation")["item_counts"]


def plan_evaluation_args(protocol: BenchmarkProtocol, plan: ModelPlan, row: str | None = None) -> EvaluationArguments:
    """``protocol``'s evaluation options with ``plan``'s and (for a test row) the row's overrides."""
    overrides = dict(plan.rows[row]) if row is not None else {}
    return EvaluationArguments(**{**protocol.evaluation, **plan.evaluation, **overrides, "do_test": False})


def small_model_arguments(plan: ModelPlan, model_options: dict[str, Any] | None = None) -> ModelArguments:
    """The small-setting model arguments of a MindRec, TIGER (MindRec's causal variant) or DeftRec ``plan``, from its
    model options (or ``model_options`` in their place)."""
    model_type = "deftrec" if plan.family == "deftrec" else "mindrec"
    return ModelArguments(**{**(plan.model if model_options is None else model_options), "model_type": model_type,
                             "model_setting": "small"})  # fmt: skip


class PlanOptionsError(ValueError):
    """An option of a plan the benchmark would run is invalid (:func:`check_plan_options`)."""


def check_plan_options(protocol: BenchmarkProtocol, plans: dict[str, list[str]]) -> None:
    """Before the data is read: build every option object each of ``plans`` (name -> its rows, as
    :meth:`~.protocols.BenchmarkProtocol.plans_for` gives) will train and test with, so that an invalid option (a
    ``--set`` typo'd value, a grid a model cannot search) is a :class:`PlanOptionsError` now, not after the plans before
    it have trained for hours."""
    from mindrec.baselines.sasrec import SASRecConfig
    from mindrec.baselines.sasrec_decoding_search import check_sasrec_decoding_grid
    from mindrec.baselines.sasrec_training import SASRecTrainingArguments

    for plan_name, rows in plans.items():
        plan = protocol.plans[plan_name]
        if plan.family == "popularity":
            continue
        try:
            validation = plan_evaluation_args(protocol, plan)
            for row in rows:
                plan_evaluation_args(protocol, plan, row)
            if plan.family == "sasrec":
                SASRecTrainingArguments(**{"eval_exclude_history": validation.exclude_history, **plan.training})
                check_sasrec_decoding_grid(SASRecConfig(**plan.model), validation.decoding_grid)
                continue
            TrainingArguments(**{"output_dir": plan_name, **plan.training})
            CodeArguments(**{**protocol.codes, **plan.codes})
            model_args = small_model_arguments(plan)
            if plan.family != "deftrec":
                check_transition_counting(model_args, validation)
            check_decoding_grid(model_args, validation)
        except (TypeError, ValueError) as error:
            raise PlanOptionsError(f"plan {plan_name!r}: {error}") from error


def resolve_data_path(protocol: BenchmarkProtocol, data_path: str | os.PathLike | None, repo_root: Path) -> Path | None:
    """The dataset location: ``data_path`` when given, else the protocol's path relative to ``repo_root``.

    Returns None for the synthetic protocol without ``data_path``.

    Raises:
        FileNotFoundError: the folder does not exist (names it and how to point elsewhere).
    """
    if data_path is None and protocol.data_path is None:
        return None
    path = Path(data_path) if data_path is not None else (repo_root / protocol.data_path).resolve()
    if not path.exists():
        raise FileNotFoundError(
            f"protocol {protocol.name!r} reads its data from {path}, which does not exist; pass --data PATH"
        )
    return path


def load_protocol_data(protocol: BenchmarkProtocol, data_path: Path | None) -> tuple[PreparedData, DataArguments]:
    """Load the protocol's dataset (the synthetic generator when ``data_path`` is None); warns when the protocol's
    ``exclude_history`` hides targets that repeat a history item (:func:`mindrec.pipeline.warn_unreachable_targets`)."""
    from mindrec.pipeline import warn_unreachable_targets
    from mindrec.training.data_setup import load_data

    data_args = DataArguments(data=None if data_path is None else str(data_path), **protocol.data)
    data = load_data(data_args)
    logger.info("benchmark %s: data %r %s", protocol.name, data.name, data.statistics())
    # A protocol written for data without repeat visits (Beauty), run with `--data` on data with them (Yelp: 6.5% of
    # test targets), must say that its exclusion hides those targets from every model.
    warn_unreachable_targets(data, bool(protocol.evaluation.get("exclude_history")))
    return data, data_args


def _code_arguments(context: BenchmarkContext, plan: ModelPlan, seed: int) -> tuple[CodeArguments, tuple[int, str]]:
    """``plan``'s code options for ``seed`` and their cache key."""
    code_args = CodeArguments(**{**context.protocol.codes, **plan.codes, "code_seed": seed})
    return code_args, (seed, json.dumps(asdict(code_args), sort_keys=True))


def item_content_vectors_for(context: BenchmarkContext, plan: ModelPlan, seed: int) -> np.ndarray:
    """``[num_items, dim]``: the vectors ``plan``'s codes quantise for ``seed`` (computed once per layout)."""
    from mindrec.training.data_setup import item_content_vectors

    code_args, key = _code_arguments(context, plan, seed)
    if key not in context.item_content_vectors:
        context.item_content_vectors[key] = item_content_vectors(context.data, code_args, context.show_progress)
    return context.item_content_vectors[key]


def code_table_for(context: BenchmarkContext, plan: ModelPlan, seed: int) -> dict[str, Any]:
    """The code table of ``plan``'s layout for ``seed`` (built once, then shared by plans with that layout)."""
    from mindrec.training.data_setup import load_or_build_code_table

    code_args, key = _code_arguments(context, plan, seed)
    if key not in context.code_tables:
        started = time.perf_counter()
        table = load_or_build_code_table(
            context.data,
            code_args,
            show_progress=context.show_progress,
            item_vectors=context.item_content_vectors.get(key),
        )
        stats = table.get("stats", {})
        context.code_table_stats.append(
            {
                "seed": seed,
                "code_slot_sizes": table["code_slot_sizes"],
                "num_category_levels": table["num_category_levels"],
                "collision_rate_before": stats.get("collision_rate_before"),
                "items_moved": stats.get("items_moved"),
                "codebook_usage": stats.get("codebook_usage"),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        context.code_tables[key] = table
    return context.code_tables[key]


def _num_parameters(model) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def evaluate_row(
    context: BenchmarkContext,
    row: str,
    seed: int,
    recommend: Recommender,
    train_seconds: float,
    num_parameters: int,
    details: dict[str, Any],
) -> dict[str, Any]:
    """Decode the test split with ``recommend`` and return the run record (see :mod:`.report`)."""
    result = evaluate_recommender(
        recommend,
        context.data.splits["test"],
        context.data.num_items,
        ks=context.ks,
        batch_size=context.protocol.evaluation["eval_batch_size"],
        show_progress=context.show_progress,
        description=f"{row} test",
        item_counts=context.item_counts,
    )
    if context.predictions_dir is not None:
        from mindrec.evaluation.predictions import write_predictions_jsonl

        write_predictions_jsonl(context.predictions_dir / f"{row}-seed{seed}.jsonl", result, context.data.item_ids)
    metrics = {name: value for name, value in result.metrics.items() if name != "users_per_second"}
    missing = [name for name in TABLE_METRICS if name not in metrics]
    if missing:
        raise ValueError(f"protocol {context.protocol.name!r} evaluates eval_ks {context.ks}; the table needs {missing}")
    record = {
        "model": row,
        "seed": seed,
        "metrics": metrics,
        "train_seconds": round(train_seconds, 3),
        "decode_users_per_second": result.metrics["users_per_second"],
        "num_parameters": int(num_parameters),
        "details": {**details, "test_seconds": round(result.seconds, 3)},
    }
    logger.info(
        "benchmark %s seed %d %s: ndcg@10 %.4f hr@10 %.4f, train %.0f s, %.1f users/s",
        context.protocol.name, seed, row, metrics["ndcg@10"], metrics["hr@10"], train_seconds,
        record["decode_users_per_second"],
    )
    return record


# ---------------------------------------------------------------------------------------------------------
# Plans by family
# ---------------------------------------------------------------------------------------------------------


def run_popularity(context: BenchmarkContext, plan: ModelPlan, rows: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """Count training interactions; rank by count."""
    from mindrec.baselines.popularity import PopularityRecommender

    started = time.perf_counter()
    popularity = PopularityRecommender.from_train_split(context.data.splits["train"], context.data.num_items)
    train_seconds = time.perf_counter() - started
    evaluation = context.evaluation_args(plan)
    recommend = popularity_recommender(popularity, evaluation.num_return_items, evaluation.exclude_history)
    return [evaluate_row(context, row, seed, recommend, train_seconds, 0, {}) for row in rows]


def run_sasrec(context: BenchmarkContext, plan: ModelPlan, rows: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """Cross-entropy SASRec trained by its own loop (``train_sasrec``), early-stopped on validation NDCG@10."""
    from mindrec.baselines.sasrec import SASRecConfig
    from mindrec.baselines.sasrec_decoding_search import (
        check_sasrec_decoding_grid,
        choose_sasrec_decoding_on_validation,
    )
    from mindrec.baselines.sasrec_training import SASRecTrainingArguments, train_sasrec
    from mindrec.data import item_brand_ids
    from mindrec.training.decoding_search import without_inert_options

    evaluation = context.evaluation_args(plan)
    args = SASRecTrainingArguments(
        **{
            "seed": seed,
            "show_progress": context.show_progress,
            "eval_exclude_history": evaluation.exclude_history,
            **plan.training,
        }
    )
    started = time.perf_counter()
    config = SASRecConfig(**plan.model)
    grid = without_inert_options(check_sasrec_decoding_grid(config, evaluation.decoding_grid), context.data.items)
    brands = item_brand_ids(context.data.items) if config.brand_adjustment else None
    model, history = train_sasrec(context.data.splits, context.data.num_items, config, args, item_brand_ids=brands)
    train_seconds = time.perf_counter() - started
    decoding_search = None
    # Users' newest items as of each split's targets, for recency_adjustment (as MindRec's fused decoder reads them).
    model.set_recent_counts(context.decoding_counts("validation")["recent_counts"])
    if grid:
        # Its inference-time credits chosen on validation (the training table is as of the validation targets), as
        # MindRec's fused decoder's are.
        _, decoding_search = choose_sasrec_decoding_on_validation(
            model, context.data.splits["validation"], grid, evaluation.exclude_history, args.eval_batch_size
        )
    best = max(history, key=lambda entry: entry["validation_ndcg@10"])
    vectors_path = context.work_dir / "sasrec" / f"seed{seed}" / SASREC_ITEM_VECTORS
    vectors_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(vectors_path, model.item_embeddings.weight[: context.data.num_items].detach().cpu().float().numpy())
    context.sasrec_item_vectors[seed] = vectors_path
    test_counts = context.decoding_counts("test", model.config.transition_gap_decay)
    model.set_recent_counts(test_counts["recent_counts"])
    if model.item_transition_offsets is not None:
        # As MindRec's: the transitions as of the test targets (its popularity prior keeps the training counts).
        model.set_item_transitions(test_counts["transition_counts"])
    # Kept as MindRec's checkpoints are, so that a probe can read the baseline's rankings without training it again.
    model.save_pretrained(vectors_path.parent / SASREC_MODEL_DIR)

    def recommend(histories: list[list[int]]):
        items, scores = model.recommend(
            histories, evaluation.num_return_items, exclude_history=evaluation.exclude_history, return_scores=True
        )
        return RankedItems(items, scores)  # the scores go to --predictions_dir

    details = {
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "best_validation_ndcg@10": best["validation_ndcg@10"],
        "validation": sasrec_learning_curve(history),
    }
    if decoding_search is not None:
        details["decoding_search"] = decoding_search
    return [evaluate_row(context, row, seed, recommend, train_seconds, _num_parameters(model), details) for row in rows]


def sasrec_learning_curve(history: list[dict[str, float]]) -> list[dict[str, float]]:
    """SASRec's per-epoch validation (:func:`train_sasrec`'s history) as the package trainer records its own: ``step``,
    ``epoch``, ``seconds`` of training (validation excluded) and the metrics without their ``validation_`` prefix, so
    that the report draws the baseline's curve beside the generative models' on the same axes."""
    prefix = "validation_"
    return [
        {
            "step": record["step"],
            "epoch": record["epoch"],
            "seconds": record["train_seconds"],
            **{name.removeprefix(prefix): value for name, value in record.items() if name.startswith(prefix)},
        }
        for record in history
    ]


def _training_arguments(context: BenchmarkContext, plan_name: str, plan: ModelPlan, seed: int) -> TrainingArguments:
    """The package Trainer's arguments for one plan and seed (its budget, a work folder of its own)."""
    return TrainingArguments(
        **{
            "output_dir": str(context.work_dir / plan_name / f"seed{seed}"),
            "overwrite_output_dir": True,
            "save_total_limit": 1,
            "show_progress": context.show_progress,
            **plan.training,
            "seed": seed,
        }
    )


def _train(
    context: BenchmarkContext,
    plan_name: str,
    plan: ModelPlan,
    seed: int,
    model,
    task,
    model_args: ModelArguments,
    save: Callable[[Path, Any, dict[str, Any]], Any],
):
    """Train ``model`` with the package's Trainer; return ``(best model in eval mode, TrainOutput)``."""
    from mindrec.training.checkpointing import model_signature
    from mindrec.training.trainer import Trainer, make_accelerator

    train_args = _training_arguments(context, plan_name, plan, seed)
    eval_args = context.evaluation_args(plan)
    record = {"benchmark": context.protocol.name, "plan": plan_name, "model": asdict(model_args), "training": asdict(train_args)}
    accelerator = make_accelerator(train_args.mixed_precision)
    trainer = Trainer(
        model,
        task,
        context.data.splits["train"],
        context.data.splits["validation"],
        train_args,
        eval_args,
        signature=model_signature(model_args.model_type, model_args.model_setting, model.config),
        save_model=lambda directory, trained: save(directory, trained, record),
        accelerator=accelerator,
    )
    output = trainer.train()
    best_dir = output.best_dir or output.final_dir
    from mindrec.training.model_io import LOAD_OPTIONS, check_finite_weights, verify_model_folder

    verify_model_folder(best_dir)
    best = type(model).from_pretrained(best_dir, **LOAD_OPTIONS).to(accelerator.device).eval()
    check_finite_weights(best, f"the model in {best_dir}")
    return best, output


def cost_profile(context: BenchmarkContext, plan: ModelPlan, task, model, tokenizer=None) -> dict[str, Any]:
    """One training step (the plan's batch size) and, for canvas models, one decoding step (the test batch x
    beams), with FLOPs and the fraction of the matmul peak reached (DESIGN §9)."""
    from .profiling import profile_decoding_step, profile_training_step, with_peak_fraction

    batch_size = int(plan.training.get("train_batch_size", TrainingArguments.train_batch_size))
    train = context.data.splits["train"]
    rows = train.select(range(min(batch_size, len(train)))).to_list()
    profile = {"training_step": with_peak_fraction(profile_training_step(task, model, rows), context.peak_gflops)}
    if tokenizer is not None:
        evaluation = context.evaluation_args(plan)
        test = context.data.splits["test"]
        histories = test.select(range(min(evaluation.eval_batch_size, len(test))))["history"]
        step = profile_decoding_step(model, tokenizer, histories, evaluation.num_beams, evaluation.history_cache)
        profile["decoding_step"] = with_peak_fraction(step, context.peak_gflops)
    return profile


def _training_details(output) -> dict[str, Any]:
    return {
        "global_step": output.global_step,
        "best_step": output.best_step,
        "best_validation_ndcg@10": output.best_metric,
        "stopped_by_patience": output.stopped_by_patience,
        "stopped_by_time": output.stopped_by_time,
        "validation": output.validation,
    }


def train_mindrec(context: BenchmarkContext, plan_name: str, plan: ModelPlan, seed: int, causal: bool = False):
    """Train one MindRec model (or, ``causal``, the TIGER-style control) with the plan's budget.

    Returns ``(best model in eval mode, TrainOutput, tokenizer, task)``.
    """
    from mindrec.baselines.tiger import causal_config
    from mindrec.data import item_brand_ids
    from mindrec.modeling.modeling_mindrec_autoregressive import MindRecForAutoregressiveRecommendation
    from mindrec.pipeline import generation_config_from
    from mindrec.training.model_io import save_trained_model
    from mindrec.training.model_setup import build_item_tokenizer, build_small_model, install_item_codes
    from mindrec.training.tasks import MindRecTask

    model_args = small_model_arguments(plan)
    validation_args = context.evaluation_args(plan)
    check_transition_counting(model_args, validation_args)
    check_decoding_grid(model_args, validation_args)
    item_features = item_content_vectors_for(context, plan, seed) if model_args.item_content_features else None
    table = code_table_for(context, plan, seed)
    tokenizer = build_item_tokenizer(table, model_args, context.data_args)
    mask_eps = plan.training.get("mask_eps")
    set_seed(seed)
    brands = item_brand_ids(context.data.items)
    model = build_small_model(
        tokenizer,
        model_args,
        mask_eps=mask_eps,
        item_features=item_features,
        **context.decoding_counts("validation", validation_args.transition_gap_decay),
        item_brand_ids=brands,
    )
    if causal:
        # The same backbone config with a causal mask (the diffusion model built above is discarded).
        set_seed(seed)
        model = MindRecForAutoregressiveRecommendation(causal_config(model.config))
        install_item_codes(model, tokenizer, item_features, item_brand_ids=brands)
    generation_config = generation_config_from(validation_args)
    model.generation_config = generation_config
    task = MindRecTask(tokenizer, generation_config, ocn=bool(plan.training.get("ocn", False)))

    def save(directory: Path, trained, record: dict[str, Any]) -> None:
        save_trained_model(directory, trained, tokenizer, generation_config, record)

    best, output = _train(context, plan_name, plan, seed, model, task, model_args, save)
    return best, output, tokenizer, task


def run_mindrec(
    context: BenchmarkContext, plan_name: str, plan: ModelPlan, rows: Sequence[str], seed: int, causal: bool = False
) -> list[dict[str, Any]]:
    """Train one MindRec model (or, ``causal``, the TIGER-style control) and decode the test split once per row."""
    from mindrec.modeling.catalogue_index import CatalogueIndex
    from mindrec.pipeline import generation_config_from
    from mindrec.training.decoding_search import choose_decoding_on_validation
    from mindrec.training.model_setup import install_item_counts
    from mindrec.training.trainer import make_accelerator

    best, output, tokenizer, task = train_mindrec(context, plan_name, plan, seed, causal)
    validation_args = context.evaluation_args(plan)
    row_args = {row: context.evaluation_args(plan, row) for row in rows}
    # The rows that decode as the decoder that selected the checkpoint: its grid, searched on the same validation users
    # (the saved best/ takes the choice), gives their options.
    searched_rows = {
        row for row, args in row_args.items() if decoding_options_of(args) == decoding_options_of(validation_args)
    }
    chosen = decoding_search = None
    searched_options = grid_option_names(parse_decoding_grid(validation_args.decoding_grid))
    if searched_options and searched_rows:
        chosen, decoding_search = choose_decoding_on_validation(
            Path(output.best_dir or output.final_dir),
            context.data,
            validation_args,
            make_accelerator(_training_arguments(context, plan_name, plan, seed).mixed_precision),  # as trained
            seed,
            context.show_progress,
        )
    profile = cost_profile(context, plan, task, best, tokenizer)
    catalogue = CatalogueIndex(tokenizer.item_codes, best.config.code_slot_sizes, best.config.num_category_levels)
    runs = []
    for row in rows:
        searched_row = chosen is not None and row in searched_rows
        options = row_args[row]
        if searched_row:
            options = replace(options, **{name: getattr(chosen, name) for name in searched_options})
        row_config = generation_config_from(options)
        # Checkpoints were selected with the counts as of the validation targets; test reads its own, the transitions
        # counted as the row's options say (a row may count differently from the selection decoder).
        install_item_counts(best, **context.decoding_counts("test", row_config.transition_gap_decay))
        recommend = mindrec_recommender(best, tokenizer, row_config, catalogue=catalogue)
        details = {
            **_training_details(output),
            "decoding": row_config.decoding_strategy,
            "history_cache": row_config.history_cache,
            "code_slot_sizes": best.config.code_slot_sizes,
            "profile": profile,
        }
        if searched_row:
            details["decoding_search"] = decoding_search
        runs.append(evaluate_row(context, row, seed, recommend, output.train_seconds, _num_parameters(best), details))
    return runs


def train_deftrec(context: BenchmarkContext, plan_name: str, plan: ModelPlan, seed: int):
    """Train one DeftRec model (continuous tokens + DDPM) with the plan's budget.

    Returns ``(best model in eval mode, TrainOutput, task)``.
    """
    from mindrec.training.model_io import save_trained_model
    from mindrec.training.model_setup import build_deftrec_model
    from mindrec.training.tasks import DeftRecTask

    model_options = dict(plan.model)
    if model_options.get("deftrec_item_vectors") == "sasrec":
        if seed not in context.sasrec_item_vectors:
            raise ValueError(
                "This DeftRec plan diffuses over SASRec's item vectors (deftrec_item_vectors='sasrec'): run the "
                "sasrec row before it in the same benchmark (e.g. --models sasrec deftrec), or set "
                "model.deftrec_item_vectors to the item_vectors.npy a SASRec run saved."
            )
        model_options["deftrec_item_vectors"] = str(context.sasrec_item_vectors[seed])
    model_args = small_model_arguments(plan, model_options)
    evaluation = context.evaluation_args(plan)
    set_seed(seed)
    model = build_deftrec_model(context.data, model_args, context.data_args, seed=seed)
    task = DeftRecTask(
        context.data.num_items,
        model.config.max_history,
        model_args.deftrec_num_negatives,
        evaluation.num_return_items,
        evaluation.exclude_history,
        seed=seed,
    )

    def save(directory: Path, trained, record: dict[str, Any]) -> None:
        save_trained_model(directory, trained, None, None, {**record, "model": {**record["model"], "model_type": "deftrec"}})

    best, output = _train(context, plan_name, plan, seed, model, task, model_args, save)
    return best, output, task


def run_deftrec(context: BenchmarkContext, plan_name: str, plan: ModelPlan, rows: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """DeftRec (continuous tokens + DDPM, score-based retrieval), trained by the same Trainer."""
    best, output, task = train_deftrec(context, plan_name, plan, seed)
    details = {
        **_training_details(output),
        "sampler": best.config.sampler,
        "retrieval": best.config.retrieval,
        "inference_steps": best.config.num_inference_steps if best.config.sampler == "ddpm" else None,
        "profile": cost_profile(context, plan, task, best),
    }
    return [
        evaluate_row(context, row, seed, task.recommender(best), output.train_seconds, _num_parameters(best), details)
        for row in rows
    ]


def deftrec_available() -> bool:
    """Whether the DeftRec model module is installed (it is an optional row of the table)."""
    import importlib.util

    return importlib.util.find_spec(DEFTREC_MODULE) is not None


def run_plan(context: BenchmarkContext, plan_name: str, rows: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """Train ``plan_name`` for ``seed`` and test each of its requested ``rows``."""
    plan = context.protocol.plans[plan_name]
    if plan.family == "popularity":
        return run_popularity(context, plan, rows, seed)
    if plan.family == "sasrec":
        return run_sasrec(context, plan, rows, seed)
    if plan.family == "deftrec":
        return run_deftrec(context, plan_name, plan, rows, seed)
    return run_mindrec(context, plan_name, plan, rows, seed, causal=plan.family == "tiger")


def run_benchmark(
    protocol: BenchmarkProtocol,
    seeds: Sequence[int] = (0,),
    models: Sequence[str] | None = None,
    data_path: str | os.PathLike | None = None,
    repo_root: str | os.PathLike = ".",
    work_dir: str | os.PathLike | None = None,
    show_progress: bool = False,
    command: str | None = None,
    predictions_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Run ``protocol`` for every seed and return the result set (see :mod:`.report`; write it with
    :func:`~mindrec.benchmark.report.write_result_set`).

    Args:
        protocol: what to run.
        seeds: one full run of every model per seed (code tables, initialisation, data order, noise).
        models: table rows to run (default: the protocol's ``default_rows``; DeftRec is skipped when its
            module is missing).
        data_path: dataset folder overriding the protocol's (``--data``).
        repo_root: the protocol's relative data path is resolved against it; its git commit is recorded.
        work_dir: keep checkpoints there (default: a temporary folder, removed at the end).
        show_progress: tqdm bars.
        command: the command line, recorded in the result set.
        predictions_dir: write every row's and seed's test lists there as JSON lines (``<row>-seed<k>.jsonl``).

    Raises:
        ValueError: no seeds, repeated seeds, or an unknown model name.
        FileNotFoundError: the dataset folder does not exist.
    """
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
    rows = list(models) if models else list(protocol.default_rows)
    skipped: dict[str, str] = {}
    if "deftrec" in rows and not deftrec_available():
        rows.remove("deftrec")
        skipped["deftrec"] = f"{DEFTREC_MODULE} is not installed"
        logger.warning("benchmark %s: skipping deftrec (%s)", protocol.name, skipped["deftrec"])
    plans = protocol.plans_for(rows)
    check_plan_options(protocol, plans)
    repo_root = Path(repo_root)
    path = resolve_data_path(protocol, data_path, repo_root)
    started = time.perf_counter()
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    commit = git_commit(repo_root)  # the code that starts the run, not what the checkout holds at its end
    data, data_args = load_protocol_data(protocol, path)

    from .profiling import matmul_peak_gflops

    peak = matmul_peak_gflops("cuda" if torch.cuda.is_available() else "cpu")
    logger.info("benchmark %s: fp32 matmul peak %.1f GFLOP/s", protocol.name, peak)
    with tempfile.TemporaryDirectory(prefix=f"benchmark-{protocol.name}-") as scratch:
        context = BenchmarkContext(
            protocol,
            data,
            data_args,
            Path(work_dir) if work_dir is not None else Path(scratch),
            show_progress,
            peak_gflops=peak,
            predictions_dir=Path(predictions_dir) if predictions_dir is not None else None,
        )
        runs: list[dict[str, Any]] = []
        seed_seconds = {}
        for seed in seeds:
            seed_started = time.perf_counter()
            for plan_name, plan_rows in plans.items():
                logger.info("benchmark %s seed %d: %s -> rows %s", protocol.name, seed, plan_name, plan_rows)
                runs.extend(run_plan(context, plan_name, plan_rows, seed))
                # A crash later keeps what is done so far.
                atomic_write_json(context.work_dir / "runs.partial.json", runs)
            seed_seconds[seed] = round(time.perf_counter() - seed_started, 1)
            budget = protocol.time_budget_minutes
            if budget is not None and seed_seconds[seed] > 60 * budget:
                logger.warning(
                    "benchmark %s seed %d took %.0f s, over the protocol's %.0f-minute budget",
                    protocol.name, seed, seed_seconds[seed], budget,
                )

    return {
        "protocol": protocol.name,
        "description": protocol.description,
        "protocol_config": protocol.to_json(),
        "data": {"path": None if path is None else str(path), "name": data.name, **data.statistics()},
        "code_tables": context.code_table_stats,
        "seeds": list(seeds),
        "models": [row for plan_rows in plans.values() for row in plan_rows],
        "skipped": skipped,
        "date": date,
        "git_commit": commit,
        "hardware": {**hardware_info(), "matmul_peak_gflops_fp32": round(peak, 2)},
        "command": command,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "seed_seconds": {str(seed): seconds for seed, seconds in seed_seconds.items()},
        "runs": runs,
        "summary": summarize_runs(runs),
    }


__all__ = [
    "BenchmarkContext",
    "PlanOptionsError",
    "check_plan_options",
    "code_table_for",
    "cost_profile",
    "deftrec_available",
    "load_protocol_data",
    "resolve_data_path",
    "run_benchmark",
    "run_plan",
    "evaluate_row",
    "sasrec_learning_curve",
    "train_mindrec",
]
