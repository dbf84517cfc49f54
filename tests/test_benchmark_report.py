"""Benchmark report, plot and README section on a fabricated result set (exact text and arithmetic)."""

import json
import math

import pytest
from optional_extras import needs_matplotlib

from mindrec.benchmark.readme import (
    END_MARKER,
    START_MARKER,
    latest_result_file,
    readme_result_files,
    replace_between_markers,
    update_readme,
)
from mindrec.benchmark.report import (
    format_profile_table,
    format_report,
    format_results_table,
    learning_curves,
    mean_std,
    summarize_runs,
    write_result_set,
)

METRICS = ("hr@1", "hr@3", "hr@5", "hr@10", "ndcg@5", "ndcg@10")


def run(model, seed, hr1, ndcg10, train_seconds, speed, params):
    metrics = {name: 0.0 for name in METRICS}
    metrics.update({"hr@1": hr1, "hr@3": 2 * hr1, "hr@5": 3 * hr1, "hr@10": 4 * hr1, "ndcg@5": ndcg10 / 2})
    metrics["ndcg@10"] = ndcg10
    return {
        "model": model,
        "seed": seed,
        "metrics": metrics,
        "train_seconds": train_seconds,
        "decode_users_per_second": speed,
        "num_parameters": params,
        "details": {},
    }


RUNS = [
    run("popularity", 0, 0.0036, 0.0098, 0.5, 50000.0, 0),
    run("popularity", 1, 0.0036, 0.0098, 0.7, 70000.0, 0),
    run("mindrec-dbs", 0, 0.0100, 0.0200, 100.0, 30.0, 1234567),
    run("mindrec-dbs", 1, 0.0300, 0.0400, 140.0, 50.0, 1234567),
]


def result_set(date="2025-03-01T10:00:00+00:00", protocol="synthetic-small", runs=RUNS):
    return {
        "protocol": protocol,
        "description": "A fabricated protocol.",
        "protocol_config": {"max_history": 10},
        "seeds": [0, 1],
        "date": date,
        "git_commit": "abc123",
        "hardware": {
            "platform": "Linux-test",
            "processor": "x86_64",
            "python": "3.11.7",
            "torch": "2.13.0",
            "cpu_count": 2,
            "torch_threads": 1,
            "gpu": None,
        },
        "wall_seconds": 12.0,
        "runs": runs,
        "summary": summarize_runs(runs),
    }


def test_mean_std_is_the_sample_std():
    assert mean_std([0.1, 0.2, 0.3]) == pytest.approx((0.2, 0.1))
    assert mean_std([2.0, 4.0]) == pytest.approx((3.0, math.sqrt(2.0)))
    assert mean_std([5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError, match="at least one value"):
        mean_std([])
    with pytest.raises(ValueError, match="non-finite values \\[nan\\]"):
        mean_std([1.0, float("nan")])


def test_summary_groups_runs_by_model_in_first_seen_order():
    summary = summarize_runs(RUNS)
    assert [row["model"] for row in summary] == ["popularity", "mindrec-dbs"]
    dbs = summary[1]
    assert dbs["seeds"] == [0, 1]
    assert dbs["hr@1"]["mean"] == pytest.approx(0.02)
    assert dbs["hr@1"]["std"] == pytest.approx(math.sqrt(2) * 0.01)
    assert dbs["train_seconds"] == pytest.approx({"mean": 120.0, "std": math.sqrt(800.0)})
    with pytest.raises(ValueError, match="model 'popularity' has several runs with one seed: seeds \\[0, 0\\]"):
        summarize_runs([RUNS[0], RUNS[0]])
    broken = {**RUNS[0], "metrics": {"hr@1": 0.1}}
    with pytest.raises(ValueError, match="lacks metrics field 'hr@3'"):
        summarize_runs([broken])
    with pytest.raises(ValueError, match="lacks run field 'train_seconds'"):
        summarize_runs([{key: value for key, value in RUNS[0].items() if key != "train_seconds"}])


def test_results_table_text_is_exact():
    table = format_results_table(summarize_runs(RUNS))
    assert table == (
        "| Model | HR@1 | HR@3 | HR@5 | HR@10 | NDCG@5 | NDCG@10 | Train (s) | Decode (users/s) | Params |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| popularity | 0.0036 ± 0.0000 | 0.0072 ± 0.0000 | 0.0108 ± 0.0000 | 0.0144 ± 0.0000 | "
        "0.0049 ± 0.0000 | 0.0098 ± 0.0000 | 0.6 ± 0.1 | 60000.0 ± 14142.1 | 0 |\n"
        "| mindrec-dbs | 0.0200 ± 0.0141 | 0.0400 ± 0.0283 | 0.0600 ± 0.0424 | 0.0800 ± 0.0566 | "
        "0.0150 ± 0.0071 | 0.0300 ± 0.0141 | 120.0 ± 28.3 | 40.0 ± 14.1 | 1,234,567 |\n"
    )
    single = format_results_table(summarize_runs(RUNS[2:3]))
    assert single.splitlines()[2] == (
        "| mindrec-dbs | 0.0100 | 0.0200 | 0.0300 | 0.0400 | 0.0100 | 0.0200 | 100.0 | 30.0 | 1,234,567 |"
    )
    with pytest.raises(ValueError, match="summary is empty"):
        format_results_table([])


@needs_matplotlib
def test_write_result_set_writes_json_png_and_markdown(tmp_path):
    paths = write_result_set(result_set(), tmp_path / "results")
    assert sorted(path.name for path in (tmp_path / "results").iterdir()) == [
        "synthetic-small.json",
        "synthetic-small.md",
        "synthetic-small.png",
    ]
    assert json.loads(paths["json"].read_text()) == result_set()
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = paths["md"].read_text()
    assert page.startswith("# Benchmark `synthetic-small`\n\nA fabricated protocol.\n")
    assert format_results_table(summarize_runs(RUNS)) in page
    assert "![NDCG@10 against decoding speed](synthetic-small.png)" in page
    assert "* git commit: abc123" in page and "GPU: none" in page
    assert '"max_history": 10' in page


def test_learning_curves_label_a_shared_model_with_every_row_that_decodes_it():
    """Two MindRec decoders of one trained model share its validation curve; a separately trained model with the
    same seed, and the same model's other seed, get their own; runs without validation are left out."""
    shared = [{"step": 1, "ndcg@10": 0.5}]
    runs = [
        {"model": "popularity", "seed": 0, "details": {}},
        {"model": "mindrec-onepass", "seed": 0, "details": {"validation": shared}},
        {"model": "mindrec-fused", "seed": 0, "details": {"validation": list(shared)}},
        {"model": "tiger", "seed": 0, "details": {"validation": [{"step": 1, "ndcg@10": 0.25}]}},
        {"model": "mindrec-onepass", "seed": 1, "details": {"validation": shared}},
    ]
    assert learning_curves(runs) == {
        "mindrec-onepass + mindrec-fused seed 0": shared,
        "tiger seed 0": [{"step": 1, "ndcg@10": 0.25}],
        "mindrec-onepass seed 1": shared,
    }


@needs_matplotlib
def test_plot_needs_positive_speeds(tmp_path):
    from mindrec.benchmark.plot import plot_quality_vs_speed

    bad = summarize_runs([run("popularity", 0, 0.1, 0.1, 1.0, 0.0, 0)])
    with pytest.raises(ValueError, match="model 'popularity' has decoding speed 0.0"):
        plot_quality_vs_speed(bad, tmp_path / "plot.png")
    assert not list(tmp_path.iterdir())


def test_replace_between_markers():
    text = f"# Title\n\n## Results\n{START_MARKER}\nold\nstuff\n{END_MARKER}\n\n## After\n"
    assert replace_between_markers(text, "new table\n") == (
        f"# Title\n\n## Results\n{START_MARKER}\nnew table\n{END_MARKER}\n\n## After\n"
    )
    with pytest.raises(ValueError, match="README.md must hold the marker '<!-- results:end -->' exactly once, found it 0"):
        replace_between_markers(f"{START_MARKER}\n", "x")
    with pytest.raises(ValueError, match="found it 2 times"):
        replace_between_markers(f"{START_MARKER}{START_MARKER}{END_MARKER}", "x")
    with pytest.raises(ValueError, match="comes before"):
        replace_between_markers(f"{END_MARKER}\n{START_MARKER}", "x")


@needs_matplotlib
def test_update_readme_uses_the_latest_result_set(tmp_path):
    results = tmp_path / "docs" / "results"
    write_result_set(result_set(date="2025-03-01T10:00:00+00:00", protocol="beauty-mindrec"), results)
    newer = result_set(date="2025-04-02T09:30:00+00:00", protocol="synthetic-small", runs=RUNS[2:])
    newer["seeds"] = [0, 1]
    write_result_set(newer, results)
    # The smoke test (synthetic-small) is newer but does not replace a measurement unless asked to.
    assert latest_result_file(results).name == "beauty-mindrec.json"
    latest = latest_result_file(results, include_smoke_tests=True)
    assert latest.name == "synthetic-small.json"

    readme = tmp_path / "README.md"
    readme.write_text(f"# mindrec\n\n## Results\n\n{START_MARKER}\nplaceholder\n{END_MARKER}\n\n## Layout\n")
    section = update_readme(readme, latest)
    expected_section = (
        "Protocol `synthetic-small`, run 2025-04-02, 2 seeds (0, 1); cells are mean ± sample std over seeds.\n\n"
        + format_results_table(summarize_runs(RUNS[2:]))
        + "\n![NDCG@10 against decoding speed](docs/results/synthetic-small.png)\n\n"
        "Generated by `scripts/update_readme_results.py` from `docs/results/`; do not edit by hand."
    )
    assert section == expected_section
    assert readme.read_text() == (
        f"# mindrec\n\n## Results\n\n{START_MARKER}\n{expected_section}\n{END_MARKER}\n\n## Layout\n"
    )
    # Idempotent: a second update leaves the file as it is.
    update_readme(readme, latest)
    assert readme.read_text().count("Protocol `synthetic-small`") == 1


@needs_matplotlib
def test_readme_shows_beauty_full_first_then_beauty_mindrec(tmp_path):
    results = tmp_path / "docs" / "results"
    write_result_set(result_set(date="2025-05-01T10:00:00+00:00", protocol="beauty-mindrec"), results)
    full = result_set(date="2025-03-01T10:00:00+00:00", protocol="beauty-full")
    full["command"] = "python scripts/benchmark.py --protocol beauty-full --max-steps 1028"
    write_result_set(full, results)
    write_result_set(result_set(date="2025-06-01T10:00:00+00:00", protocol="synthetic-small"), results)
    files = readme_result_files(results)
    assert [path.name for path in files] == ["beauty-full.json", "beauty-mindrec.json"]  # no smoke test
    readme = tmp_path / "README.md"
    readme.write_text(f"{START_MARKER}\n{END_MARKER}\n")
    section = update_readme(readme, files)
    assert section.index("Protocol `beauty-full`") < section.index("Protocol `beauty-mindrec`")
    assert section.count("Generated by") == 2
    assert "Command: `python scripts/benchmark.py --protocol beauty-full --max-steps 1028`." in section


@needs_matplotlib
def test_latest_result_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no benchmark results folder"):
        latest_result_file(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="holds no benchmark result"):
        latest_result_file(tmp_path)
    write_result_set(result_set(protocol="synthetic-small"), tmp_path / "smoke")
    assert latest_result_file(tmp_path / "smoke").name == "synthetic-small.json"  # nothing else: the smoke test
    (tmp_path / "other.json").write_text('{"protocol": "x"}')
    with pytest.raises(ValueError, match="other.json: not a benchmark result set, missing the key\\(s\\) \\['date'"):
        latest_result_file(tmp_path)


def test_profile_table_lists_first_seed_profiles():
    step = {"seconds": 0.0125, "rows": 256, "gflop": 1.5, "gflops_per_second": 120.0, "peak_fraction": 0.25}
    decode = {"seconds": 0.5, "rows": 2500, "gflop": 3.25, "gflops_per_second": 6.5, "peak_fraction": 0.0135}
    runs = [
        {**RUNS[2], "details": {"profile": {"training_step": step, "decoding_step": decode}}},
        {**RUNS[3], "details": {"profile": {"training_step": step}}},  # seed 1: not listed
        {**RUNS[0], "details": {"profile": {"training_step": step}}},
    ]
    assert format_profile_table({**result_set(runs=runs), "hardware": {"matmul_peak_gflops_fp32": 480.0}}) == (
        "Seed 0; fp32 matmul peak measured on this machine: 480.0 GFLOP/s. A training step is the forward + "
        "backward of one batch; a decoding step is one canvas-scorer call over the test batch x beams rows "
        "(FLOPs: matmuls and attention only).\n\n"
        "| Model | Train step (ms) | Train rows | Train GFLOP | Train % peak | Decode step (ms) | Decode rows "
        "| Decode GFLOP | Decode % peak |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| mindrec-dbs | 12.5 | 256 | 1.50 | 25.0% | 500.0 | 2500 | 3.25 | 1.4% |\n"
        "| popularity | 12.5 | 256 | 1.50 | 25.0% |  |  |  |  |\n"
    )
    assert format_profile_table(result_set()) == ""


def test_measure_counts_flops_and_decoding_step_scales_with_rows():
    import torch

    from mindrec.benchmark.profiling import (
        matmul_peak_gflops,
        measure,
        profile_decoding_step,
        with_peak_fraction,
    )

    layer = torch.nn.Linear(10, 20)
    inputs = torch.randn(3, 10)
    result = measure(lambda: layer(inputs))
    assert result["gflop"] == 2 * 3 * 10 * 20 / 1e9
    assert result["seconds"] > 0 and result["gflops_per_second"] == result["gflop"] / result["seconds"]
    assert with_peak_fraction(result, 2 * result["gflops_per_second"])["peak_fraction"] == 0.5
    assert matmul_peak_gflops(size=64, min_seconds=0.01) > 0

    from test_baseline_tiger import successor_tokenizer  # the tests folder is on sys.path, as for tiny.py

    from mindrec.baselines.tiger import build_autoregressive_model

    tokenizer = successor_tokenizer()
    model = build_autoregressive_model(tokenizer, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    one = profile_decoding_step(model, tokenizer, [[1, 2, 3]], num_beams=4, history_cache="prompt_cache")
    two = profile_decoding_step(model, tokenizer, [[1, 2, 3], [1, 2, 3]], num_beams=4, history_cache="prompt_cache")
    assert (one["rows"], two["rows"]) == (4, 8)
    assert two["gflop"] == pytest.approx(2 * one["gflop"]) and one["gflop"] > 0


def test_report_names_the_data_that_ran():
    # A protocol run on other data (`--data`) keeps its description, so the page must say what actually ran.
    toys = {"path": "/data/toys", "name": "toys", "users": 19412, "items": 11924, "interactions": 167597}
    page = format_report({**result_set(), "data": toys})
    assert "* data: toys from `/data/toys`: 19,412 users, 11,924 items, 167,597 interactions\n" in page
    synthetic = {"path": None, "name": "synthetic", "users": 600, "items": 300, "interactions": 5000}
    assert "* data: synthetic (built-in synthetic generator): 600 users, 300 items, 5,000 interactions\n" in format_report(
        {**result_set(), "data": synthetic}
    )
    assert "* data:" not in format_report(result_set())
