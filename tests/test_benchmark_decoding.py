"""The decoding benchmark: FLOP formula, FLOP accounting of whole decodes, time split, quality, the script."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from script_support import load_script
from tiny import tiny_config, tiny_model
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from mindrec.benchmark.decoding import (
    CaseResult,
    CaseRun,
    DecodeClock,
    DecodingBenchmarkArguments,
    DecodingCase,
    TimedCatalogueIndex,
    case_generation_config,
    compare_cache_modes,
    decode_batch,
    forward_flops,
    linear_flops_per_token,
    prepare_benchmark,
    profile_decoding,
    random_model,
    run_cases,
    step_split,
    target_summary,
)
from mindrec.benchmark.profiling import matmul_peak_gflops
from mindrec.modeling.canvas_scoring import HISTORY_CACHE_MODES
from mindrec.modeling.catalogue_index import CatalogueIndex
from mindrec.modeling.generation_mindrec import RecommendationGenerationConfig
from mindrec.tokenization.tokenization_mindrec import MindRecTokenizer

# A tiny code table: 2 category levels (2 x 2) and 2 SID digits (3 x 3); 24 distinct items.
CODES = [[a, b, c, d] for a, b, c, d in itertools.product(range(2), range(2), range(3), range(3))][:24]
TABLE = {
    "format_version": 1,
    "num_category_levels": 2,
    "num_sid_digits": 2,
    "code_slot_sizes": [2, 2, 3, 3],
    "item_ids": [f"item{index}" for index in range(len(CODES))],
    "codes": CODES,
}
HISTORIES = [[0, 5, 7], [3], [1, 2, 3, 4, 20], [23, 22]]
TINY_SIZES = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)


def tiny_setup(encoding: str):
    """Tokenizer, random tiny model (eager attention, so FlopCounterMode sees the attention matmuls), index."""
    tokenizer = MindRecTokenizer.from_code_table(TABLE, history_encoding=encoding)
    model = random_model(tokenizer, DecodingBenchmarkArguments(synthetic=True, **TINY_SIZES))
    model.set_attn_implementation("eager")
    index = CatalogueIndex(
        tokenizer.item_codes, model.config.code_slot_sizes, model.config.num_category_levels
    )
    return model, tokenizer, index


# --------------------------------------------------------------------------------------------------
# FLOPs


def test_forward_flops_hand_computation():
    config = tiny_config()  # hidden 32, 2 layers, 4 heads of 8 (2 kv heads), MLP 64, vocab 7 + 31 = 38
    # Per layer: q 32x32 + k 32x16 + v 32x16 + o 32x32 + gate/up/down 3 x 32x64 = 9216 weights; 2 layers.
    assert linear_flops_per_token(config) == 2 * 9216 * 2 == 36864
    # 3 rows x (10 tokens x 36864 + attention 4*10*12*(4*8)*2 layers + head 2*32*8*5 positions): each
    # canvas position runs only its slot's head rows, padded to the largest slot (8 values).
    expected = 3 * (10 * 36864 + 4 * 10 * 12 * 32 * 2 + 2 * 32 * 8 * 5)
    assert expected == 1_205_760
    assert forward_flops(config, rows=3, query_length=10, kv_length=12, head_positions=5) == expected
    assert forward_flops(config, rows=0, query_length=10, kv_length=12, head_positions=5) == 0


def test_linear_flops_are_twice_the_layer_weights():
    model = tiny_model()
    weights = sum(
        module.weight.numel() for module in model.model.layers.modules() if isinstance(module, nn.Linear)
    )
    assert linear_flops_per_token(model.config) == 2 * weights


@pytest.mark.parametrize("encoding", ["tokens", "pooled"])
@pytest.mark.parametrize("mode", HISTORY_CACHE_MODES)
@pytest.mark.parametrize("strategy", ["diffusion_beam_search", "low_confidence"])
def test_decode_flops_equal_flop_counter(strategy, mode, encoding):
    """The analytic count over every scorer call (and the prompt pass) of a whole decode equals what
    torch's FlopCounterMode counts for the same decode (matmuls only; eager attention)."""
    model, tokenizer, index = tiny_setup(encoding)
    case = DecodingCase(strategy, 10, mode, encoding, "fp32")
    config = case_generation_config(RecommendationGenerationConfig(), case)
    clock = DecodeClock()
    with FlopCounterMode(display=False) as counter:
        items, seconds = decode_batch(model, tokenizer, index, HISTORIES, case, config, clock)
    assert clock.flops == counter.get_total_flops() > 0
    assert clock.calls == len(clock.marks) >= model.config.code_length
    assert items.shape == (len(HISTORIES), 10)
    assert seconds > 0 and clock.model_seconds > 0


class LoggedRun(CaseRun):
    """Records the order in which :func:`run_cases` decodes batches."""

    log: list[str] = []

    def decode_next_batch(self) -> None:
        self.log.append(self.case.history_cache)
        super().decode_next_batch()


def test_run_cases_interleaves_batches_and_honours_the_time_limit():
    model, tokenizer, index = tiny_setup("pooled")
    base = RecommendationGenerationConfig()
    histories = HISTORIES + HISTORIES[:2]  # 6 users
    exact = DecodingCase("left_to_right", 10, "exact", "pooled", "fp32")
    cached = DecodingCase("left_to_right", 10, "prompt_cache", "pooled", "fp32")
    LoggedRun.log = []
    runs = [
        LoggedRun(model, tokenizer, index, histories, exact, base, batch_rows=20),  # 2 users per batch
        LoggedRun(model, tokenizer, index, histories, cached, base, batch_rows=20, time_limit=1e-9),
    ]
    first, second = run_cases(runs, latency_users=2)
    assert LoggedRun.log == ["exact", "prompt_cache", "exact", "exact"]
    assert (first.users, second.users) == (6, 2)
    assert first.item_lists.shape == (6, 10) and second.item_lists.shape == (2, 10)
    assert len(first.batch_users_per_second) == 3 and len(second.batch_users_per_second) == 1
    assert first.latency_ms > 0 and second.latency_ms > 0
    # Left-to-right fills one slot per call: at least 4 calls per batch (more if users need a second pass).
    assert first.scorer_calls >= 3 * 4 and second.scorer_calls >= 4


def test_timed_index_answers_like_the_index():
    _, _, index = tiny_setup("pooled")
    clock = DecodeClock()
    timed = TimedCatalogueIndex(index, clock)
    canvas = torch.tensor([[-1, -1, -1, -1], [1, -1, 2, -1], [0, 1, 2, 2]])
    users = torch.tensor([0, 1, 1])
    excluded = index.exclusion_table([[0], [5, 23]], 2)
    assert torch.equal(
        timed.allowed_values(canvas, users, excluded), index.allowed_values(canvas, users, excluded)
    )
    assert torch.equal(timed.lookup(canvas), index.lookup(canvas))
    positions = torch.tensor([[0, 1], [2, 3], [4, 5]])
    assert torch.equal(
        timed.expand(canvas, users, excluded).fingerprints(positions),
        index.expand(canvas, users, excluded).fingerprints(positions),
    )


def test_matmul_peak_is_positive():
    assert matmul_peak_gflops(size=32, min_seconds=0.01, dtype=torch.bfloat16) > 0


# --------------------------------------------------------------------------------------------------
# Time split, quality


def test_step_split_from_marks():
    clock = DecodeClock(model_seconds=0.5, index_seconds=0.2, marks=[(1.0, 0.1, 0.0, 4), (2.0, 0.4, 0.1, 8)])
    steps = step_split(clock, start=0.5, end=3.0)
    expected = [
        ("setup", 0, 500.0, 100.0, 0.0, 400.0),
        (0, 4, 1000.0, 300.0, 100.0, 600.0),
        (1, 8, 1000.0, 100.0, 100.0, 800.0),
    ]
    assert [step["step"] for step in steps] == [row[0] for row in expected]
    assert [step["rows"] for step in steps] == [row[1] for row in expected]
    for step, row in zip(steps, expected, strict=True):
        values = [step[key] for key in ("total_ms", "model_ms", "index_ms", "other_ms")]
        assert values == pytest.approx(row[2:])


def _result(mode: str, lists: list[list[int]]) -> CaseResult:
    case = DecodingCase("diffusion_beam_search", 10, mode, "pooled", "fp32")
    return CaseResult(case, len(lists), 1.0, 0.5, 0.2, 7, 70, 10**9, None, torch.tensor(lists))


def test_compare_cache_modes_hand_computed():
    exact = _result("exact", [list(range(10)), list(range(10, 20))])
    cached = _result("prompt_cache", [list(range(10)), list(range(19, 9, -1))])
    lonely = CaseResult(
        DecodingCase("left_to_right", 10, "exact", "pooled", "fp32"), 2, 1.0, 0.5, 0.2, 7, 70, 1, None,
        exact.item_lists,
    )  # fmt: skip
    (row,) = compare_cache_modes([exact, cached, lonely], targets=[0, 12])
    # Exact: ranks 1 and 3; cache: ranks 1 and 8 (12 is 8th in 19, 18, ..., 10).
    assert row["users"] == 2
    assert row["hr@10_exact"] == row["hr@10_cache"] == 1.0
    assert row["ndcg@10_exact"] == pytest.approx((1 + 1 / math.log2(4)) / 2)
    assert row["ndcg@10_cache"] == pytest.approx((1 + 1 / math.log2(9)) / 2)
    assert row["identical_top10"] == 0.5
    assert row["overlap_top10"] == 1.0


def test_compare_cache_modes_uses_the_users_both_decoded():
    exact = _result("exact", [list(range(10)), list(range(10, 20))])
    cached = _result("prompt_cache", [[-1] * 10])
    (row,) = compare_cache_modes([exact, cached], targets=[0, 12])
    assert row["users"] == 1
    keys = ("hr@10_exact", "hr@10_cache", "identical_top10", "overlap_top10")
    assert [row[key] for key in keys] == [1.0, 0.0, 0.0, 0.0]


def test_missing_dataset_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"Dataset {tmp_path / 'nowhere'} does not exist"):
        load_script("benchmark_decoding").main(["--data", str(tmp_path / "nowhere"), "--threads", "1"])


def test_profile_step_out_of_range_raises():
    model, tokenizer, index = tiny_setup("pooled")
    case = DecodingCase("left_to_right", 10, "prompt_cache", "pooled", "fp32")
    with pytest.raises(ValueError, match="`profile_step` 99 is out of range: this decode made"):
        profile_decoding(model, tokenizer, index, HISTORIES, case, RecommendationGenerationConfig(), 99)


# --------------------------------------------------------------------------------------------------
# Options and the script


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(synthetic=True, strategies=["beam"]), r"`strategies` holds \['beam'\]; choose from"),
        (dict(synthetic=True, modes=[]), "`modes` is empty"),
        (dict(synthetic=True, dtypes=["fp16"]), r"`dtypes` holds \['fp16'\]"),
        (dict(synthetic=True, beams=[5]), r"`beams` must be widths >= 10 .* got \[5\]"),
        (dict(), "Pass --data PATH"),
        (dict(synthetic=True, data="x"), "either --data or --synthetic"),
        (dict(synthetic=True, users=0), "`users` must be >= 1, got 0"),
        (dict(synthetic=True, threads=0), "`threads` must be > 0, got 0"),
        (dict(synthetic=True, split="train"), "`split` must be 'test' or 'validation'"),
        (dict(synthetic=True, model="m", code_table="c"), "drop --code-table"),
    ],
)
def test_arguments_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DecodingBenchmarkArguments(**kwargs)


TINY_ARGS = [
    "--synthetic", "--users", "6", "--synthetic-num-items", "60", "--num-category-levels", "2",
    "--num-sid-digits", "2", "--codebook-size", "8", "--hidden-size", "32", "--intermediate-size", "64",
    "--num-hidden-layers", "2", "--beams", "10", "--latency-users", "1", "--peak-size", "64",
    "--peak-seconds", "0.01", "--threads", "1", "--show-progress", "false",
]  # fmt: skip


def test_script_prints_one_row_per_combination(tmp_path, capsys):
    output = tmp_path / "decoding.json"
    strategies, modes, dtypes = (
        ["diffusion_beam_search", "left_to_right"],
        list(HISTORY_CACHE_MODES),
        ["fp32", "bf16"],
    )
    argv = [
        *TINY_ARGS, "--strategies", *strategies, "--modes", *modes, "--encodings", "pooled", "--dtypes", *dtypes,
        "--output-json", str(output),
    ]  # fmt: skip
    report = load_script("benchmark_decoding").main(argv)
    rows = report["results"]
    combinations = [
        (row["strategy"], row["num_beams"], row["history_cache"], row["history_encoding"], row["dtype"])
        for row in rows
    ]
    assert sorted(combinations) == sorted(itertools.product(strategies, [10], modes, ["pooled"], dtypes))
    for row in rows:
        assert row["users"] == 6
        assert len(row["batch_users_per_second"]) == 1  # 6 users x 10 beams fit one batch of 2000 rows
        assert row["scorer_calls"] >= 4  # code length 4, at least one pass
        for key in ("users_per_second", "ms_per_user", "latency_ms", "gflop_per_user", "achieved_gflops",
                    "peak_fraction", "forward_peak_fraction", "rows_per_user"):  # fmt: skip
            assert row[key] > 0, key
        assert row["model_fraction"] + row["index_fraction"] + row["other_fraction"] == pytest.approx(1.0)
    assert all(peak > 0 for peak in report["peak_gflops"].values())
    assert len(report["quality"]) == len(strategies) * len(dtypes)
    assert report["quality_meaningful"] is False
    assert report["profile"]["case"]["strategy"] == "diffusion_beam_search"
    assert [step["step"] for step in report["profile"]["steps"][:2]] == ["setup", 0]

    printed = capsys.readouterr().out
    table_lines = [line.split() for line in printed.splitlines()]
    for strategy, _, mode, encoding, dtype in combinations:
        assert sum(line[:5] == [strategy, "10", mode, encoding, dtype] for line in table_lines) == 1
    assert "Exact vs prompt_cache (random weights" in printed
    assert json.loads(output.read_text())["results"] == json.loads(json.dumps(rows))


@pytest.fixture(scope="module")
def synthetic_code_table():
    """The code table the script builds for TINY_ARGS (same data, same options), as an item_codes.json mapping."""
    from mindrec.data import make_synthetic_dataset
    from mindrec.tokenization.build_codes import build_item_codes

    data = make_synthetic_dataset(num_users=6, num_items=60, seed=0, max_history=10)
    table = build_item_codes(
        list(data.items), num_category_levels=2, num_sid_digits=2, codebook_size=8, show_progress=False
    )
    return table.to_json()


def test_code_table_is_aligned_with_the_dataset_items(tmp_path, synthetic_code_table):
    from mindrec.tokenization.tokenization_mindrec import write_item_codes

    order = list(reversed(range(len(synthetic_code_table["item_ids"]))))  # the dataset's order is restored
    shuffled = dict(synthetic_code_table)
    shuffled["item_ids"] = [synthetic_code_table["item_ids"][row] for row in order]
    shuffled["codes"] = [synthetic_code_table["codes"][row] for row in order]
    path = tmp_path / "item_codes.json"
    write_item_codes(path, shuffled)
    args = DecodingBenchmarkArguments(
        synthetic=True,
        users=6,
        synthetic_num_items=60,
        code_table=str(path),
        encodings=["pooled"],
        **TINY_SIZES,
    )
    setup = prepare_benchmark(args)
    assert setup.index.item_codes.tolist() == synthetic_code_table["codes"]
    assert len(setup.histories) == len(setup.targets) == 6


def test_script_with_a_trained_model_folder(tmp_path, synthetic_code_table):
    """--model: the checkpoint's tokenizer and weights are decoded; encodings must match the checkpoint."""
    from mindrec.training.model_io import save_trained_model

    tokenizer = MindRecTokenizer.from_code_table(synthetic_code_table, history_encoding="pooled")
    model = random_model(tokenizer, DecodingBenchmarkArguments(synthetic=True, **TINY_SIZES))
    folder = save_trained_model(tmp_path / "best", model, tokenizer, RecommendationGenerationConfig(), run={})
    script = load_script("benchmark_decoding")
    common = [
        *TINY_ARGS,
        "--model",
        str(folder),
        "--strategies",
        "left_to_right",
        "--dtypes",
        "fp32",
        "--no-profile",
    ]
    with pytest.raises(ValueError, match="trained with history_encoding='pooled'; pass --encodings pooled"):
        script.main([*common, "--encodings", "tokens", "pooled"])
    report = script.main([*common, "--encodings", "pooled"])
    assert report["quality_meaningful"] is True
    assert report["setup"]["model"] == str(folder)
    (row,) = report["quality"]
    assert (row["strategy"], row["users"]) == ("left_to_right", 6)
    assert report["profile"] is None


def test_target_summary_names_the_fastest_rows_and_the_model_size():
    def row(strategy, beams, cache, seconds, users=5000):
        return {
            "strategy": strategy, "num_beams": beams, "history_cache": cache, "history_encoding": "pooled",
            "dtype": "bf16", "users": users, "projected_seconds_5000_users": seconds,
        }  # fmt: skip

    rows = [
        row("diffusion_beam_search", 10, "prompt_cache", 91.2),
        row("diffusion_beam_search", 10, "exact", 286.0, users=3600),
        row("left_to_right", 10, "prompt_cache", 50.0),  # other strategies do not count
        row("diffusion_beam_search", 50, "prompt_cache", 20.0),  # nor other beams
    ]
    head = "Target: 5000 users, diffusion_beam_search beam 10, < 180 s: "
    verdicts = (
        "fastest prompt_cache/pooled/bf16 91 s (measured on 5000 users; target met); "
        "fastest exact exact/pooled/bf16 286 s (measured on 3600 users; target NOT met)"
    )
    assert target_summary(rows, 4_740_000) == head + verdicts
    assert target_summary(rows, 800_000) == (
        head + verdicts + " [the target is stated for a ~5M-parameter model; this one has 0.80M]"
    )
    assert target_summary(rows[2:], 4_740_000) is None
