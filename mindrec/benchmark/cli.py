"""Command lines of ``scripts/benchmark.py`` and ``scripts/update_readme_results.py``.

Both take the repository root from their script's location, so they work from any folder.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from mindrec.cli_args import ArgumentParser, canonical, int_at_least
from mindrec.logging_setup import add_log_level_argument, setup_logging

from .curves import parse_plan_override
from .protocols import PROTOCOLS, get_protocol

logger = logging.getLogger(__name__)


def benchmark_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="scripts/benchmark.py",
        description=(
            "Run a named benchmark protocol end to end (data, item codes, every model trained with its "
            "budget and selected on validation NDCG@10, tested on the test split) and write "
            "<output>/<protocol>.md, .json and .png."
        ),
    )
    parser.add_argument("--protocol", required=True, choices=sorted(PROTOCOLS), help="which protocol to run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default: 0)")
    parser.add_argument(
        "--models", nargs="+", default=None,
        help="table rows to run (default: all of the protocol's), e.g. popularity sasrec tiger mindrec-dbs",
    )
    parser.add_argument("--data", default=None, help="dataset folder (default: the protocol's, relative to the repo root)")
    parser.add_argument(
        *canonical("output folder"), default=None, help="results folder (default: <repo root>/docs/results)"
    )
    parser.add_argument(
        "--work-dir", default=None,
        help="keep checkpoints here, each SASRec's too (<dir>/sasrec/seed<s>/model); default: a temporary folder",
    )
    parser.add_argument(
        *canonical("threads"), type=int_at_least(1), default=None,
        help="torch intra-op threads (default: torch's choice); recorded with the results",
    )
    parser.add_argument(
        "--max-steps", type=int_at_least(1), default=None,
        help="cut every generative model's training to N steps (a scaled-down run; recorded with the results)",
    )
    parser.add_argument(
        "--set", dest="plan_settings", action="append", type=parse_plan_override, default=[],
        help="PLAN.SECTION.KEY=VALUE override of one plan (repeatable; recorded with the results), e.g. "
        "mindrec.training.max_train_minutes=6",
    )
    parser.add_argument(
        "--predictions_dir", default=None,
        help="also write every model's test lists as JSON lines, <row>-seed<k>.jsonl, to this folder",
    )
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    add_log_level_argument(parser)
    return parser


def _publish(result_set: dict, output: Path) -> None:
    """Write the result files into ``output`` and print the table on stdout."""
    from .report import format_results_table, write_result_set

    paths = write_result_set(result_set, output)
    logger.info("wrote %s", ", ".join(str(path) for path in paths.values()))
    sys.stdout.write(format_results_table(result_set["summary"]))


def benchmark_main(argv: Sequence[str] | None, repo_root: Path) -> dict:
    """Parse ``argv``, run the protocol, write the results; return the result set."""
    args = benchmark_parser().parse_args(argv)  # before the heavy imports: --help answers at once
    from .plot import require_matplotlib
    from .runner import PlanOptionsError, run_benchmark

    require_matplotlib()  # the plot comes last: fail now rather than after the training
    setup_logging(args.log_level)
    if args.num_threads is not None:
        import torch

        torch.set_num_threads(args.num_threads)
    protocol = get_protocol(args.protocol)
    if args.max_steps is not None:
        protocol = protocol.with_overrides(max_steps=args.max_steps)
    if args.plan_settings:
        try:
            protocol = protocol.with_plan_settings(args.plan_settings)
        except ValueError as error:
            raise SystemExit(f"--set: {error}") from None
    output = Path(args.output_dir) if args.output_dir else repo_root / "docs" / "results"
    command = shlex.join(["python", "scripts/benchmark.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        result_set = run_benchmark(
            protocol,
            seeds=args.seeds,
            models=args.models,
            data_path=args.data,
            repo_root=repo_root,
            work_dir=args.work_dir,
            show_progress=args.progress,
            command=command,
            predictions_dir=args.predictions_dir,
        )
    except PlanOptionsError as error:  # raised before any data is read: the message, not a traceback
        raise SystemExit(f"scripts/benchmark.py: {error}") from None
    _publish(result_set, output)
    return result_set


def merge_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="scripts/merge_results.py",
        description=(
            "Merge the result files of one protocol run as separate parts (seeds or models in parallel "
            "processes) into one <output>/<protocol>.md, .json and .png."
        ),
    )
    parser.add_argument("parts", nargs="+", help="<protocol>.json result files of the parts")
    parser.add_argument(*canonical("output folder"), required=True, help="folder of the merged result files")
    add_log_level_argument(parser)
    return parser


def merge_main(argv: Sequence[str] | None) -> dict:
    """Parse ``argv``, merge the parts, write the merged result set; return it."""
    args = merge_parser().parse_args(argv)
    from .merge import merge_result_sets
    from .plot import require_matplotlib
    from .readme import load_result_set

    require_matplotlib()
    setup_logging(args.log_level)
    try:
        merged = merge_result_sets([load_result_set(path) for path in args.parts])
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"merge_results: {error}") from None
    _publish(merged, Path(args.output_dir))
    return merged


def readme_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="scripts/update_readme_results.py",
        description=(
            "Replace the README's results section (between <!-- results:start --> and <!-- results:end -->) "
            "with the table and plot of every benchmark result file: beauty-full first, then beauty-mindrec."
        ),
    )
    parser.add_argument("--results", default=None, help="results folder (default: <repo root>/docs/results)")
    parser.add_argument("--file", default=None, help="a specific <protocol>.json instead of the latest one")
    parser.add_argument("--readme", default=None, help="README to update (default: <repo root>/README.md)")
    parser.add_argument(
        "--include-smoke-tests", action="store_true",
        help="let a smoke-test protocol's result (synthetic-small) be the latest one",
    )
    add_log_level_argument(parser)
    return parser


def update_readme_main(argv: Sequence[str] | None, repo_root: Path) -> str:
    """Parse ``argv`` and update the README; return the new section."""
    from .readme import readme_result_files, update_readme

    args = readme_parser().parse_args(argv)
    setup_logging(args.log_level)
    results = Path(args.results) if args.results else repo_root / "docs" / "results"
    result_files = [Path(args.file)] if args.file else readme_result_files(results, args.include_smoke_tests)
    readme = Path(args.readme) if args.readme else repo_root / "README.md"
    section = update_readme(readme, result_files)
    sys.stdout.write(f"updated {readme} from {', '.join(str(path) for path in result_files)}\n")
    return section


__all__ = ["benchmark_main", "benchmark_parser", "merge_main", "merge_parser", "readme_parser", "update_readme_main"]
