"""Decoding benchmark: users/s, latency, analytic forward FLOPs, fraction of the matmul peak, time split, profile.

Every combination of decoding strategy x beam width x history cache mode (``"exact"`` /
``"prompt_cache"``) x history encoding (``"tokens"`` / ``"pooled"``) x dtype (fp32 / bf16 autocast) is
decoded on the same users with the same weights, next to this machine's matmul peak measured in the
same run (:func:`~mindrec.benchmark.profiling.matmul_peak_gflops`), so "fraction of peak" compares like with like (threads, load).
The combinations are decoded in rounds, one batch of each per round (:func:`run_cases`), so that a
change of load on a shared machine affects all of them alike.

FLOP count (model forward only, analytic; :func:`forward_flops`)
-----------------------------------------------------------------
A forward over ``rows`` sequences, each with ``q`` query tokens attending to ``kv`` key/value
positions (padded lengths: what is actually computed), costs

    linear    = 2 * P * n_layers * rows * q          P = linear weights of one layer (q, k, v, o, gate, up, down)
    attention = 4 * q * kv * H * hd * n_layers * rows   QK^T and AV, one multiply-add = 2 FLOPs
    lm_head   = 2 * hidden * Vmax * rows * h         h = canvas positions; each computes only the rows
                                                    of its own slot (Vmax = the largest slot size)

Not counted: embedding look-ups, RMSNorm, RoPE, softmax, SiLU and the per-slot log-softmax (each
O(tokens x hidden), about 1% of the above at the default sizes). Per history-cache mode, with ``T``
the batch's padded sequence length (prompt + canvas) and ``L = code_length``:

* ``"exact"``: each scorer call over ``N`` rows costs ``forward_flops(N, q=T, kv=T, h=L)`` (the scorer
  runs the LM head on the canvas positions only);
* ``"prompt_cache"``: the prompt pass, once per batch of ``B`` users, costs
  ``forward_flops(B, q=T, kv=T, h=0)``; each call then packs its ``N`` rows per user (``U`` users, at
  most ``W`` rows each, :class:`~mindrec.modeling.canvas_scoring.RowPacking`) and costs
  ``forward_flops(U, q=W*L, kv=T-L+W*L, h=0) + forward_flops(N, q=0, kv=0, h=L)``.

The calls and their rows are the ones the decoders actually made (:class:`InstrumentedScorer` wraps
the scorer), so re-decoding passes (``collect_distinct_items``) are included. The count equals
``torch.utils.flop_counter.FlopCounterMode``'s over a whole decode with eager attention
(``tests/test_benchmark_decoding.py``); that counter does not see CPU SDPA kernels, hence the formula.

Time split. Model time is spent inside the scorer (and building it, which runs the prompt pass);
catalogue-index time inside ``CatalogueIndex.expand`` / ``lookup`` / ``exclusion_table`` and the
expansions' ``fingerprints`` (:class:`TimedCatalogueIndex`); the rest (beam bookkeeping: top-k, pooling,
dedupe, gathers) is "other".
"""

from __future__ import annotations

import itertools
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from mindrec.evaluation.metrics import ranking_metrics
from mindrec.modeling import MindRecConfig, MindRecForRecommendation
from mindrec.modeling.canvas_scoring import MindRecCanvasScorer, RowPacking
from mindrec.modeling.catalogue_index import CatalogueExpansion, CatalogueIndex
from mindrec.modeling.generation_mindrec import (
    RecommendationGenerationConfig,
    recommend,
)
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer

from .decoding_options import QUALITY_K, DecodingBenchmarkArguments
from .profiling import matmul_peak_gflops

logger = logging.getLogger(__name__)

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16}
# Issue 4's target: 5,000 users at beam 10 in under 3 minutes.
TARGET_USERS, TARGET_SECONDS = 5000, 180.0
TARGET_PARAMETERS = (4_000_000, 6_000_000)  # "a ~5M-parameter model"


# --------------------------------------------------------------------------------------------------
# FLOPs


def linear_flops_per_token(config: MindRecConfig) -> int:
    """``2 * P * n_layers``: FLOPs of every layer's q/k/v/o and gate/up/down projections for one token."""
    hidden, heads, kv_heads = config.hidden_size, config.num_attention_heads, config.num_key_value_heads
    attention = hidden * heads * config.head_dim * 2 + hidden * kv_heads * config.head_dim * 2  # q, o; k, v
    mlp = 3 * hidden * config.intermediate_size
    return 2 * (attention + mlp) * config.num_hidden_layers


def forward_flops(
    config: MindRecConfig, rows: int, query_length: int, kv_length: int, head_positions: int
) -> int:
    """Analytic FLOPs of one forward (module docstring): linear layers + attention + LM head.

    Args:
        config: the model config.
        rows: sequences in the batch.
        query_length: tokens run through the layers per row.
        kv_length: key/value positions each query attends to (cached prompt included).
        head_positions: positions per row the LM head runs on (0 = none).
    """
    linear = linear_flops_per_token(config) * query_length
    attention = (
        4 * query_length * kv_length * config.num_attention_heads * config.head_dim * config.num_hidden_layers
    )
    head = 2 * config.hidden_size * max(config.code_slot_sizes) * head_positions
    return rows * (linear + attention + head)


# --------------------------------------------------------------------------------------------------
# Instrumentation: time split, FLOPs, step marks, optional profiler


@dataclass
class DecodeClock:
    """Accumulators of one or more decodes.

    Attributes:
        model_seconds / index_seconds: time inside the model (scorer calls and prompt passes) and the index.
        flops: analytic forward FLOPs (module docstring).
        calls / rows: scorer calls and the rows they scored.
        marks: ``(time, model_seconds, index_seconds, rows)`` at the start of every scorer call, for the
            per-step split of :func:`step_split`.
    """

    model_seconds: float = 0.0
    index_seconds: float = 0.0
    flops: int = 0
    calls: int = 0
    rows: int = 0
    marks: list[tuple[float, float, float, int]] = field(default_factory=list)

    def mark(self, rows: int) -> None:
        self.marks.append((time.perf_counter(), self.model_seconds, self.index_seconds, rows))


class InstrumentedScorer:
    """A :class:`MindRecCanvasScorer` that counts its calls, rows, FLOPs and time (the decoders see a scorer).

    Args:
        scorer: the model's scorer for one batch of users.
        clock: where the counts go.
        profiler: a ``torch.profiler.profile`` started at call ``profile_call`` and stopped when the next
            call starts (the caller stops it when the decode ends first).
    """

    def __init__(
        self,
        scorer: MindRecCanvasScorer,
        clock: DecodeClock,
        profiler: torch.profiler.profile | None = None,
        profile_call: int | None = None,
    ):
        self.scorer = scorer
        self.clock = clock
        self.code_slot_sizes = scorer.code_slot_sizes
        self.num_category_levels = scorer.num_category_levels
        self.sequence_length = scorer.attention_mask.shape[1]
        self.profiler, self.profile_call = profiler, profile_call
        self.profiling = False
        self.num_calls = 0

    def call_flops(self, row_to_user: torch.LongTensor) -> int:
        """FLOPs of one call over the canvases of users ``row_to_user [N]`` in this scorer's cache mode.

        ``"prompt_cache"`` runs each user's rows packed into one sequence of ``W * L`` tokens
        (:class:`~mindrec.modeling.canvas_scoring.RowPacking`; ``W`` = most rows of a user), all of them
        attending to the cached prompt and the packed tokens: that is the work counted.
        """
        config, length, rows = self.scorer.model.config, self.scorer.code_length, row_to_user.numel()
        if self.scorer.history_cache == "exact":
            return forward_flops(config, rows, self.sequence_length, self.sequence_length, length)
        packing = RowPacking(row_to_user)
        packed = packing.width * length
        prompt = self.sequence_length - length
        layers = forward_flops(config, packing.users.numel(), packed, prompt + packed, head_positions=0)
        return layers + forward_flops(config, rows, 0, 0, head_positions=length)

    def __call__(self, canvas: torch.LongTensor, row_to_user: torch.LongTensor) -> torch.FloatTensor:
        if self.profiling:
            self.profiler.stop()
            self.profiling = False
        if self.profiler is not None and self.num_calls == self.profile_call:
            self.profiler.start()
            self.profiling = True
        self.num_calls += 1
        rows = canvas.shape[0]
        self.clock.mark(rows)
        start = time.perf_counter()
        log_probs = self.scorer(canvas, row_to_user)
        self.clock.model_seconds += time.perf_counter() - start
        self.clock.calls += 1
        self.clock.rows += rows
        self.clock.flops += self.call_flops(row_to_user)
        return log_probs


class TimedCatalogueIndex(CatalogueIndex):
    """``index`` (its tensors shared, not copied) with the time of its queries added to ``clock.index_seconds``."""

    def __init__(self, index: CatalogueIndex, clock: DecodeClock):  # no super().__init__: nothing is rebuilt
        self.__dict__.update(index.__dict__)
        self.clock = clock

    def _timed(self, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.clock.index_seconds += time.perf_counter() - start

        return timed

    def expand(self, *args, **kwargs) -> CatalogueExpansion:
        expansion = self._timed(super().expand)(*args, **kwargs)
        expansion.fingerprints = self._timed(expansion.fingerprints)
        return expansion

    def lookup(self, *args, **kwargs) -> torch.LongTensor:
        return self._timed(super().lookup)(*args, **kwargs)

    def exclusion_table(self, *args, **kwargs) -> torch.LongTensor:
        return self._timed(super().exclusion_table)(*args, **kwargs)


def step_split(clock: DecodeClock, start: float, end: float) -> list[dict[str, Any]]:
    """Per-step wall time of one decode, split into model / catalogue index / other (ms).

    Row ``"setup"`` runs from ``start`` to the first scorer call (scorer and prompt pass, exclusions);
    step ``i`` from call ``i`` to call ``i + 1`` (the last step includes collecting the items).
    """
    marks = [(start, 0.0, 0.0, 0), *clock.marks, (end, clock.model_seconds, clock.index_seconds, 0)]
    steps = []
    for position, (begin, finish) in enumerate(itertools.pairwise(marks)):
        wall, model, index = finish[0] - begin[0], finish[1] - begin[1], finish[2] - begin[2]
        steps.append(
            {
                "step": "setup" if position == 0 else position - 1,
                "rows": begin[3],
                "total_ms": 1e3 * wall,
                "model_ms": 1e3 * model,
                "index_ms": 1e3 * index,
                "other_ms": 1e3 * (wall - model - index),
            }
        )
    return steps


# --------------------------------------------------------------------------------------------------
# Decoding one combination


@dataclass(frozen=True)
class DecodingCase:
    """One combination of the benchmark grid."""

    strategy: str
    num_beams: int
    history_cache: str
    history_encoding: str
    dtype: str


@dataclass
class CaseResult:
    """Measurements of one :class:`DecodingCase` (``item_lists [users, K]`` is kept for quality, not saved;
    ``batch_users_per_second`` shows how much the load moved the throughput from batch to batch)."""

    case: DecodingCase
    users: int
    seconds: float
    model_seconds: float
    index_seconds: float
    scorer_calls: int
    scored_rows: int
    flops: int
    latency_ms: float | None
    item_lists: torch.LongTensor
    batch_users_per_second: list[float] = field(default_factory=list)

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds

    @property
    def flops_per_user(self) -> float:
        return self.flops / self.users

    @property
    def achieved_gflops(self) -> float:
        return self.flops / self.seconds / 1e9

    def summary(self, peak_gflops: dict[str, float]) -> dict[str, Any]:
        """The row's numbers as a flat dict (the JSON row; :func:`format_results_table` prints it)."""
        peak = peak_gflops[self.case.dtype]
        forward_gflops = self.flops / self.model_seconds / 1e9 if self.model_seconds > 0 else float("nan")
        other = self.seconds - self.model_seconds - self.index_seconds
        return {
            **asdict(self.case),
            "users": self.users,
            "seconds": self.seconds,
            "users_per_second": self.users_per_second,
            "batch_users_per_second": self.batch_users_per_second,
            "ms_per_user": 1e3 / self.users_per_second,
            "latency_ms": self.latency_ms,
            "scorer_calls": self.scorer_calls,
            "rows_per_user": self.scored_rows / self.users,
            "gflop_per_user": self.flops_per_user / 1e9,
            "achieved_gflops": self.achieved_gflops,
            "peak_fraction": self.achieved_gflops / peak,
            "forward_peak_fraction": forward_gflops / peak,
            "model_fraction": self.model_seconds / self.seconds,
            "index_fraction": self.index_seconds / self.seconds,
            "other_fraction": other / self.seconds,
            "projected_seconds_5000_users": TARGET_USERS / self.users_per_second,
        }


def case_generation_config(
    base: RecommendationGenerationConfig, case: DecodingCase
) -> RecommendationGenerationConfig:
    """``base`` (e.g. a checkpoint's options: ``exclude_history``, ``temperature``) with the case's strategy,
    beams and cache mode, returning ``QUALITY_K`` items."""
    return RecommendationGenerationConfig(
        **{
            **{name: getattr(base, name) for name in base._option_names()},
            "decoding_strategy": case.strategy,
            "num_beams": case.num_beams,
            "num_return_items": QUALITY_K,
            "history_cache": case.history_cache,
            # Only low-confidence decoding commits several positions per call.
            "tokens_per_step": base.tokens_per_step if case.strategy == "low_confidence" else None,
        }
    )


def decode_batch(
    model: MindRecForRecommendation,
    tokenizer: MindRecTokenizer,
    index: CatalogueIndex,
    histories: list[list[int]],
    case: DecodingCase,
    generation_config: RecommendationGenerationConfig,
    clock: DecodeClock,
    profiler: torch.profiler.profile | None = None,
    profile_call: int | None = None,
) -> tuple[torch.LongTensor, float]:
    """Decode one batch (what ``model.generate`` does, with instrumented scorer and index) into ``clock``.

    Args:
        histories: ``b`` users' history item indices.
        case: the combination (its ``dtype`` and ``history_cache`` apply here).
        generation_config: the case's options, from :func:`case_generation_config`.
        profiler, profile_call: see :class:`InstrumentedScorer`.
    Returns:
        the item lists ``[b, K]`` and the wall seconds of scorer building + search (tokenizing excluded).
    """
    inputs = tokenizer(histories, items="indices", return_tensors="pt")
    excluded = histories if generation_config.exclude_history else None
    autocast = torch.autocast("cpu", dtype=DTYPES[case.dtype]) if case.dtype != "fp32" else nullcontext()
    start = time.perf_counter()
    with torch.no_grad(), autocast:
        scorer = model.build_canvas_scorer(
            inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            history_code_ids=inputs.get("history_code_ids"),
            history_cache=case.history_cache,
        )
        clock.model_seconds += time.perf_counter() - start
        if case.history_cache == "prompt_cache":
            rows, length = inputs["input_ids"].shape
            clock.flops += forward_flops(model.config, rows, length, length, 0)
        instrumented = InstrumentedScorer(scorer, clock, profiler, profile_call)
        output = recommend(
            instrumented, TimedCatalogueIndex(index, clock), len(histories), generation_config, excluded
        )
    seconds = time.perf_counter() - start
    if instrumented.profiling:
        profiler.stop()
    return output.item_indices, seconds


class CaseRun:
    """One combination decoded batch by batch (``batch_rows // num_beams`` users each), so that
    :func:`run_cases` can interleave combinations: on a shared machine the load then drifts over all of
    them alike instead of favouring whichever ran in a quiet minute.

    Args:
        histories: the users, in order; every combination decodes the same ones.
        base_config: decoding options the case overrides (:func:`case_generation_config`).
        time_limit: stop after the batch that passes this many seconds of decoding (None = every user).
    """

    def __init__(
        self,
        model: MindRecForRecommendation,
        tokenizer: MindRecTokenizer,
        index: CatalogueIndex,
        histories: Sequence[list[int]],
        case: DecodingCase,
        base_config: RecommendationGenerationConfig,
        batch_rows: int = 2000,
        time_limit: float | None = None,
    ):
        self.model, self.tokenizer, self.index, self.case = model, tokenizer, index, case
        self.histories = [list(history) for history in histories]
        self.config = case_generation_config(base_config, case)
        self.batch_users = max(1, batch_rows // case.num_beams)
        self.time_limit = time_limit
        self.clock = DecodeClock()
        self.lists: list[torch.LongTensor] = []
        self.batch_seconds: list[float] = []
        self.latencies: list[float] = []

    def _decode(self, histories: list[list[int]], clock: DecodeClock) -> tuple[torch.LongTensor, float]:
        return decode_batch(self.model, self.tokenizer, self.index, histories, self.case, self.config, clock)

    @property
    def users(self) -> int:
        return min(len(self.lists) * self.batch_users, len(self.histories))

    @property
    def done(self) -> bool:
        if self.users == len(self.histories):
            return True
        return self.time_limit is not None and sum(self.batch_seconds) >= self.time_limit

    def warm_up(self) -> None:
        """Decode two users untimed (first-call costs: kernel selection, allocations)."""
        self._decode(self.histories[:2], DecodeClock())

    def decode_next_batch(self) -> None:
        start = len(self.lists) * self.batch_users
        items, seconds = self._decode(self.histories[start : start + self.batch_users], self.clock)
        self.lists.append(items)
        self.batch_seconds.append(seconds)
        if self.done and self.users < len(self.histories):
            logger.info(
                "%s: time limit reached after %d of %d users", self.case, self.users, len(self.histories)
            )

    def measure_latency(self, user: int) -> None:
        """Wall time of decoding user ``user`` alone (a batch of one)."""
        self.latencies.append(self._decode([self.histories[user]], DecodeClock())[1])

    def result(self) -> CaseResult:
        clock = self.clock
        sizes = [len(items) for items in self.lists]
        return CaseResult(
            case=self.case,
            users=self.users,
            seconds=sum(self.batch_seconds),
            model_seconds=clock.model_seconds,
            index_seconds=clock.index_seconds,
            scorer_calls=clock.calls,
            scored_rows=clock.rows,
            flops=clock.flops,
            latency_ms=1e3 * statistics.median(self.latencies) if self.latencies else None,
            item_lists=torch.cat(self.lists),
            batch_users_per_second=[
                size / seconds for size, seconds in zip(sizes, self.batch_seconds, strict=True)
            ],
        )


def run_cases(
    runs: Sequence[CaseRun], latency_users: int = 10, show_progress: bool = False
) -> list[CaseResult]:
    """Warm every run up, then decode in rounds (one batch of every unfinished run per round), then
    measure the latency of the first ``latency_users`` users, again one user of every run in turn."""
    for run in runs:
        run.warm_up()
    total = sum(-(-len(run.histories) // run.batch_users) for run in runs)
    with tqdm(total=total, desc="decoding batches", disable=not show_progress) as progress:
        while active := [run for run in runs if not run.done]:
            for run in active:
                run.decode_next_batch()
                progress.update()
    for user in range(min(latency_users, min(len(run.histories) for run in runs))):
        for run in runs:
            run.measure_latency(user)
    results = [run.result() for run in runs]
    for result in results:
        logger.info("%s: %d users, %.2f users/s", result.case, result.users, result.users_per_second)
    return results


def profile_decoding(
    model: MindRecForRecommendation,
    tokenizer: MindRecTokenizer,
    index: CatalogueIndex,
    histories: Sequence[list[int]],
    case: DecodingCase,
    base_config: RecommendationGenerationConfig,
    profile_call: int,
    row_limit: int = 15,
) -> dict[str, Any]:
    """Profile one batch of ``histories``: the per-step time split, then ``torch.profiler`` on one step.

    Returns ``{"case", "users", "steps" (see :func:`step_split`), "profile_call", "operator_table"}``; the
    operator table covers scorer call ``profile_call`` and the index work and bookkeeping up to the next call.
    """
    config = case_generation_config(base_config, case)
    batch = [list(history) for history in histories]
    decode_batch(model, tokenizer, index, batch[:2], case, config, DecodeClock())  # warm-up
    clock = DecodeClock()
    start = time.perf_counter()
    decode_batch(model, tokenizer, index, batch, case, config, clock)
    steps = step_split(clock, start, time.perf_counter())
    if profile_call >= clock.calls:
        raise ValueError(
            f"`profile_step` {profile_call} is out of range: this decode made {clock.calls} scorer calls."
        )
    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
    decode_batch(model, tokenizer, index, batch, case, config, DecodeClock(), profiler, profile_call)
    table = profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=row_limit)
    return {
        "case": asdict(case),
        "users": len(batch),
        "steps": steps,
        "profile_call": profile_call,
        "operator_table": table,
    }


# --------------------------------------------------------------------------------------------------
# Quality of the cache modes


def compare_cache_modes(results: Sequence[CaseResult], targets: Sequence[int]) -> list[dict[str, Any]]:
    """For every combination decoded in both cache modes: HR@10 / NDCG@10 of each and the agreement.

    Compared on the users both decoded (the first ``n``). ``identical_top10`` is the fraction of users whose
    ten items are the same in the same order; ``overlap_top10`` the mean fraction of shared items.
    """
    by_case = {result.case: result for result in results}
    rows = []
    for case, exact in by_case.items():
        cached = by_case.get(
            DecodingCase(case.strategy, case.num_beams, "prompt_cache", case.history_encoding, case.dtype)
        )
        users = min(exact.users, cached.users) if cached is not None else 0
        if case.history_cache != "exact" or users == 0:
            continue
        first, second = exact.item_lists[:users], cached.item_lists[:users]
        target = torch.as_tensor(list(targets[:users]))
        metrics = {
            mode: ranking_metrics(lists, target, ks=(QUALITY_K,))
            for mode, lists in (("exact", first), ("cache", second))
        }
        shared = (first[:, :, None] == second[:, None, :]) & (first[:, :, None] >= 0)
        rows.append(
            {
                "strategy": case.strategy,
                "num_beams": case.num_beams,
                "history_encoding": case.history_encoding,
                "dtype": case.dtype,
                "users": users,
                "hr@10_exact": metrics["exact"]["hr@10"],
                "hr@10_cache": metrics["cache"]["hr@10"],
                "ndcg@10_exact": metrics["exact"]["ndcg@10"],
                "ndcg@10_cache": metrics["cache"]["ndcg@10"],
                "identical_top10": float((first == second).all(dim=1).float().mean()),
                "overlap_top10": float(shared.any(2).float().sum(1).mean() / QUALITY_K),
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Setup: data, codes, models


@dataclass
class BenchmarkSetup:
    """What every combination shares: the users, their targets, one (model, tokenizer) per encoding, the index."""

    histories: list[list[int]]
    targets: list[int]
    models: dict[str, tuple[MindRecForRecommendation, MindRecTokenizer]]
    index: CatalogueIndex
    generation_config: RecommendationGenerationConfig
    description: dict[str, Any]


def _load_data(args: DecodingBenchmarkArguments):
    from mindrec.data import load_dataset_from_path, make_synthetic_dataset

    if args.synthetic:
        return make_synthetic_dataset(
            num_users=args.users,
            num_items=args.synthetic_num_items,
            seed=args.seed,
            max_history=args.max_history,
        )
    if not Path(args.data).exists():
        raise FileNotFoundError(f"Dataset {args.data} does not exist; pass --data PATH or --synthetic.")
    return load_dataset_from_path(args.data, max_history=args.max_history, max_users=args.users)


def _code_table(args: DecodingBenchmarkArguments, data) -> dict[str, Any]:
    """``--code-table`` aligned with the dataset's items, or codes built from the item table (as training does)."""
    from mindrec.training.arguments import CodeArguments
    from mindrec.training.data_setup import load_or_build_code_table

    if args.code_table is None:
        try:
            import mindrec.tokenization.build_codes  # noqa: F401  (numpy/sklearn code building)
        except ImportError as error:
            raise ImportError(
                f"Cannot build item codes here ({error}); pass --code-table PATH (an item_codes.json)."
            ) from error
    code_args = CodeArguments(
        code_table=args.code_table,
        num_category_levels=args.num_category_levels,
        num_sid_digits=args.num_sid_digits,
        codebook_size=args.codebook_size,
        code_seed=args.seed,
    )
    return load_or_build_code_table(data, code_args, show_progress=args.show_progress)


def random_model(tokenizer: MindRecTokenizer, args: DecodingBenchmarkArguments) -> MindRecForRecommendation:
    """A randomly initialised model for ``tokenizer``'s layout; the same seed gives the same weights."""
    config = MindRecConfig(
        **tokenizer.model_config_kwargs(),
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.num_hidden_layers,
        num_attention_heads=args.num_attention_heads,
    )
    torch.manual_seed(args.seed)
    return MindRecForRecommendation(config).eval()


def _trained_models(args: DecodingBenchmarkArguments, item_ids: list[str]):
    from mindrec.training.model_io import load_trained_model

    trained = load_trained_model(args.model)
    tokenizer = trained.tokenizer
    if tokenizer is None:
        raise ValueError(
            f"{args.model} is not a MindRec model folder (no tokenizer): only MindRec models decode here."
        )
    encoding = tokenizer.history_encoding
    if list(args.encodings) != [encoding]:
        raise ValueError(
            f"{args.model} was trained with history_encoding={encoding!r}; pass --encodings {encoding}."
        )
    model_items = [tokenizer.item_id_of(index) for index in range(tokenizer.num_items)]
    if model_items != item_ids:
        first = next(
            (i for i, (a, b) in enumerate(zip(model_items, item_ids, strict=False)) if a != b),
            min(len(model_items), len(item_ids)),
        )
        raise ValueError(
            f"{args.model}'s item table differs from the dataset's ({len(model_items)} vs {len(item_ids)} items, first "
            f"difference at item index {first}): benchmark a model on the data it was trained on."
        )
    return {encoding: (trained.model, tokenizer)}, trained.generation_config


def prepare_benchmark(args: DecodingBenchmarkArguments) -> BenchmarkSetup:
    """Load the users, the code table (built, read, or the model's) and the models (random or trained)."""
    data = _load_data(args)
    split = data.splits[args.split]
    rows = min(args.users, len(split))
    subset = split.select(range(rows))
    histories = [list(history) for history in subset["history"]]
    targets = [int(target) for target in subset["target"]]
    if args.model is not None:
        models, generation_config = _trained_models(args, list(data.item_ids))
    else:
        table = _code_table(args, data)
        models = {}
        for encoding in args.encodings:
            tokenizer = MindRecTokenizer.from_code_table(
                table, history_encoding=encoding, max_history=args.max_history
            )
            models[encoding] = (random_model(tokenizer, args), tokenizer)
        generation_config = RecommendationGenerationConfig()
    model, tokenizer = next(iter(models.values()))
    config = model.config
    index = CatalogueIndex(tokenizer.item_codes, config.code_slot_sizes, config.num_category_levels)
    lengths = {}
    for encoding, (_, encoding_tokenizer) in models.items():
        tokens = encoding_tokenizer(histories, items="indices")["attention_mask"].sum(dim=1).float()
        lengths[encoding] = {"mean": float(tokens.mean()), "max": int(tokens.max())}
    description = {
        "data": "synthetic" if args.synthetic else os.fspath(args.data),
        "split": args.split,
        "users": rows,
        "num_items": index.num_items,
        "mean_history": sum(map(len, histories)) / max(rows, 1),
        "model": args.model or "random weights",
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "vocab_size": config.vocab_size,
        "code_slot_sizes": list(config.code_slot_sizes),
        "num_category_levels": config.num_category_levels,
        "sequence_length": lengths,
        "exclude_history": generation_config.exclude_history,
        "attention": config._attn_implementation,
    }
    return BenchmarkSetup(histories, targets, models, index, generation_config, description)


# --------------------------------------------------------------------------------------------------
# The whole run


def benchmark_cases(args: DecodingBenchmarkArguments) -> list[DecodingCase]:
    """The grid: strategies x beams x encodings x cache modes x dtypes (exact and cached rows adjacent)."""
    return [
        DecodingCase(strategy, beams, mode, encoding, dtype)
        for strategy, beams, encoding, dtype, mode in itertools.product(
            args.strategies, args.beams, args.encodings, args.dtypes, args.modes
        )
    ]


def _profile_case(args: DecodingBenchmarkArguments) -> DecodingCase:
    """Diffusion Beam Search, prompt cache, fp32 when requested; otherwise the first requested of each."""

    def pick(preferred, values):
        return preferred if preferred in values else values[0]

    return DecodingCase(
        pick("diffusion_beam_search", args.strategies),
        args.beams[0],
        pick("prompt_cache", args.modes),
        args.encodings[0],
        pick("fp32", args.dtypes),
    )


@contextmanager
def _threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_decoding_benchmark(args: DecodingBenchmarkArguments) -> dict[str, Any]:
    """Run the grid of :func:`benchmark_cases` and return every number (the ``--output-json`` content)."""
    threads = args.threads or os.cpu_count() or 1
    with _threads(threads):
        load_start = os.getloadavg()
        setup = prepare_benchmark(args)
        # Both peaks whatever dtypes are decoded, at the start and the end: the load may change meanwhile.
        peaks = {
            name: matmul_peak_gflops("cpu", args.peak_size, args.peak_seconds, DTYPES[name]) for name in DTYPES
        }
        logger.info("matmul peak (GFLOP/s): %s", peaks)
        runs = []
        for case in benchmark_cases(args):
            model, tokenizer = setup.models[case.history_encoding]
            runs.append(
                CaseRun(
                    model,
                    tokenizer,
                    setup.index,
                    setup.histories,
                    case,
                    setup.generation_config,
                    batch_rows=args.batch_rows,
                    time_limit=args.case_time_limit,
                )
            )
        results = run_cases(runs, args.latency_users, args.show_progress)
        profile = None
        if args.profile:
            case = _profile_case(args)
            model, tokenizer = setup.models[case.history_encoding]
            users = max(1, args.batch_rows // case.num_beams)
            step = args.profile_step if args.profile_step is not None else model.config.num_category_levels
            profile = profile_decoding(
                model, tokenizer, setup.index, setup.histories[:users], case, setup.generation_config, step
            )
        peaks_end = {
            name: matmul_peak_gflops("cpu", args.peak_size, args.peak_seconds, DTYPES[name]) for name in DTYPES
        }
        load_end = os.getloadavg()
    return {
        "settings": asdict(args),
        "environment": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
            "threads": threads,
            "loadavg_start": list(load_start),
            "loadavg_end": list(load_end),
        },
        "setup": setup.description,
        "peak_gflops": peaks,
        "peak_gflops_end": peaks_end,
        "results": [result.summary(peaks) for result in results],
        "quality": compare_cache_modes(results, setup.targets),
        "quality_meaningful": args.model is not None,
        "profile": profile,
    }


# --------------------------------------------------------------------------------------------------
# Printing


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(header), *(len(row[i]) for row in rows)) if rows else len(header)
        for i, header in enumerate(headers)
    ]
    lines = ["  ".join(header.rjust(width) for header, width in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def format_results_table(rows: Sequence[dict[str, Any]]) -> str:
    """One line per combination: throughput, latency, FLOPs, fraction of peak and the time split."""
    headers = [
        "strategy", "beams", "cache", "history", "dtype", "users", "users/s", "ms/user", "latency ms",
        "calls", "rows/user", "GFLOP/user", "GFLOP/s", "%peak", "fwd %peak", "model%", "index%", "other%",
        "5k users s",
    ]  # fmt: skip
    body = [
        [
            row["strategy"],
            str(row["num_beams"]),
            row["history_cache"],
            row["history_encoding"],
            row["dtype"],
            str(row["users"]),
            f"{row['users_per_second']:.1f}",
            f"{row['ms_per_user']:.1f}",
            "-" if row["latency_ms"] is None else f"{row['latency_ms']:.0f}",
            str(row["scorer_calls"]),
            f"{row['rows_per_user']:.1f}",
            f"{row['gflop_per_user']:.3f}",
            f"{row['achieved_gflops']:.1f}",
            f"{100 * row['peak_fraction']:.1f}",
            f"{100 * row['forward_peak_fraction']:.1f}",
            f"{100 * row['model_fraction']:.0f}",
            f"{100 * row['index_fraction']:.0f}",
            f"{100 * row['other_fraction']:.0f}",
            f"{row['projected_seconds_5000_users']:.0f}",
        ]  # fmt: skip
        for row in rows
    ]
    return _table(headers, body)


def format_quality_table(rows: Sequence[dict[str, Any]]) -> str:
    """Exact vs prompt-cache decoding: HR@10, NDCG@10 and agreement of the top-10 lists."""
    headers = [
        "strategy", "beams", "history", "dtype", "users", "HR@10 exact", "HR@10 cache", "NDCG@10 exact",
        "NDCG@10 cache", "identical top-10", "overlap top-10",
    ]  # fmt: skip
    body = [
        [
            row["strategy"],
            str(row["num_beams"]),
            row["history_encoding"],
            row["dtype"],
            str(row["users"]),
            f"{row['hr@10_exact']:.4f}",
            f"{row['hr@10_cache']:.4f}",
            f"{row['ndcg@10_exact']:.4f}",
            f"{row['ndcg@10_cache']:.4f}",
            f"{row['identical_top10']:.3f}",
            f"{row['overlap_top10']:.3f}",
        ]  # fmt: skip
        for row in rows
    ]
    return _table(headers, body)


def format_step_table(steps: Sequence[dict[str, Any]]) -> str:
    """The per-step split of :func:`step_split`."""
    headers = ["step", "rows", "total ms", "model ms", "index ms", "other ms"]
    body = [
        [str(step["step"]), str(step["rows"])]
        + [f"{step[key]:.1f}" for key in ("total_ms", "model_ms", "index_ms", "other_ms")]
        for step in steps
    ]
    return _table(headers, body)


def target_summary(rows: Sequence[dict[str, Any]], parameters: int) -> str | None:
    """Issue 4's target on the measured rows: Diffusion Beam Search at beam 10 for 5,000 users in < 3 minutes
    with a ~5M-parameter model.

    Names the fastest combination and the fastest exact-mode one, with their projected times; None when
    no Diffusion Beam Search beam-10 row was measured. With a model outside 4-6M ``parameters`` the
    verdicts carry a warning that the target is stated for another size.
    """
    candidates = [
        row for row in rows if row["strategy"] == "diffusion_beam_search" and row["num_beams"] == 10
    ]
    if not candidates:
        return None

    def describe(row: dict[str, Any]) -> str:
        seconds = row["projected_seconds_5000_users"]
        verdict = "met" if seconds < TARGET_SECONDS else "NOT met"
        return (
            f"{row['history_cache']}/{row['history_encoding']}/{row['dtype']} {seconds:.0f} s "
            f"(measured on {row['users']} users; target {verdict})"
        )

    fastest = min(candidates, key=lambda row: row["projected_seconds_5000_users"])
    parts = [f"fastest {describe(fastest)}"]
    exact = [row for row in candidates if row["history_cache"] == "exact"]
    if exact:
        parts.append(
            f"fastest exact {describe(min(exact, key=lambda row: row['projected_seconds_5000_users']))}"
        )
    size = ""
    if not TARGET_PARAMETERS[0] <= parameters <= TARGET_PARAMETERS[1]:
        size = f" [the target is stated for a ~5M-parameter model; this one has {parameters / 1e6:.2f}M]"
    return (
        f"Target: {TARGET_USERS} users, diffusion_beam_search beam 10, < {TARGET_SECONDS:.0f} s: "
        + "; ".join(parts)
        + size
    )


def format_report(report: dict[str, Any]) -> str:
    """Everything :func:`run_decoding_benchmark` measured, as text."""
    environment, setup = report["environment"], report["setup"]
    peaks = ", ".join(
        f"{name} {report['peak_gflops'][name]:.0f} (end of run {report['peak_gflops_end'][name]:.0f})"
        for name in report["peak_gflops"]
    )
    lines = [
        f"Decoding benchmark: {setup['users']} users of {setup['data']} ({setup['split']}), "
        f"{setup['num_items']} items, codes {setup['code_slot_sizes']}, mean history {setup['mean_history']:.2f}",
        f"Model: {setup['model']}, {setup['parameters'] / 1e6:.2f}M parameters (hidden {setup['hidden_size']}, "
        f"{setup['num_hidden_layers']} layers, {setup['num_attention_heads']} heads, MLP {setup['intermediate_size']}, "
        f"vocab {setup['vocab_size']}, attention {setup['attention']}); sequence length (prompt + canvas) "
        f"{setup['sequence_length']}",
        f"Machine: {environment['cpu_count']} CPUs, torch threads {environment['threads']}, load average "
        f"{environment['loadavg_start'][0]:.2f} at start, {environment['loadavg_end'][0]:.2f} at end; "
        f"matmul peak GFLOP/s: {peaks}",
        "",
        format_results_table(report["results"]),
        "",
        "GFLOP/user: analytic model-forward FLOPs (see mindrec/benchmark/decoding.py); %peak = achieved GFLOP/s over "
        "wall time / the dtype's matmul peak; fwd %peak over the time inside the model only. "
        "5k users s: projected seconds for 5,000 users at this throughput.",
    ]
    target = target_summary(report["results"], setup["parameters"])
    if target is not None:
        lines += ["", target]
    if report["quality"]:
        note = (
            "" if report["quality_meaningful"] else " (random weights: agreement only, HR/NDCG meaningless)"
        )
        lines += ["", f"Exact vs prompt_cache{note}:", format_quality_table(report["quality"])]
    profile = report["profile"]
    if profile is not None:
        case = profile["case"]
        lines += [
            "",
            f"Per-step split, one batch of {profile['users']} users, {case['strategy']} beam {case['num_beams']} "
            f"{case['history_cache']} {case['history_encoding']} {case['dtype']}:",
            format_step_table(profile["steps"]),
            "",
            f"torch.profiler, scorer call {profile['profile_call']} and the work up to the next call:",
            profile["operator_table"],
        ]
    return "\n".join(lines)


__all__ = [
    "DTYPES",
    "BenchmarkSetup",
    "CaseResult",
    "DecodeClock",
    "DecodingBenchmarkArguments",
    "DecodingCase",
    "InstrumentedScorer",
    "TimedCatalogueIndex",
    "benchmark_cases",
    "case_generation_config",
    "CaseRun",
    "compare_cache_modes",
    "decode_batch",
    "run_cases",
    "format_quality_table",
    "format_report",
    "format_results_table",
    "format_step_table",
    "forward_flops",
    "linear_flops_per_token",
    "prepare_benchmark",
    "profile_decoding",
    "random_model",
    "run_decoding_benchmark",
    "step_split",
    "target_summary",
]
