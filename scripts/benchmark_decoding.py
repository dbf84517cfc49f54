#!/usr/bin/env python
"""Benchmark decoding: users/s, latency, forward FLOPs, fraction of the matmul peak, time split and a profile.

Every combination of --strategies x --beams x --encodings x --modes x --dtypes is decoded on the same users;
the table is printed (and, with --output-json, every number written). The formula behind the FLOP column is
in ``mindrec/benchmark/decoding.py``.

Examples:
    python scripts/benchmark_decoding.py                      # Beauty, first 5,000 users, the full grid
    python scripts/benchmark_decoding.py --users 200 --beams 10 --strategies diffusion_beam_search \\
        --modes prompt_cache --encodings pooled --threads 2   # a quick run
    python scripts/benchmark_decoding.py --synthetic --users 50 --output-json /tmp/decoding.json
    python scripts/benchmark_decoding.py --model runs/small_beauty/best --encodings pooled  # + quality
"""

import sys
from pathlib import Path

from mindrec.benchmark.decoding_options import DecodingBenchmarkArguments
from mindrec.logging_setup import setup_logging
from mindrec.training.config_loading import parse_arguments

# The shared Beauty data sits next to the repository (../shared/data relative to its root).
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "amazon_beauty_2014"


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if not {arg.split("=")[0] for arg in argv} & {"--synthetic", "--data"}:
        argv = [*argv, "--data", str(DEFAULT_DATA)]
    (args,) = parse_arguments(
        (DecodingBenchmarkArguments,), argv, description=__doc__.split("\n\n")[0], exit_on_error=True
    )
    setup_logging(args.log_level)
    from mindrec.benchmark.decoding import format_report, run_decoding_benchmark
    from mindrec.io_utils import atomic_write_json

    report = run_decoding_benchmark(args)
    print(format_report(report))
    if args.output_json:
        atomic_write_json(args.output_json, report)
        print(f"\nwrote {args.output_json}")
    return report


if __name__ == "__main__":
    main()
