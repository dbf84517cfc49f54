#!/usr/bin/env python
"""Run a named benchmark protocol and write docs/results/<protocol>.{md,json,png}.

Examples:
    python scripts/benchmark.py --protocol synthetic-small
    python scripts/benchmark.py --protocol beauty-mindrec --seeds 0 1 2 --num-threads 2
    python scripts/benchmark.py --protocol beauty-mindrec --models popularity sasrec tiger mindrec-dbs

``--help`` lists every option; the protocols themselves are defined in ``mindrec/benchmark/protocols.py``.
"""

from pathlib import Path

from mindrec.benchmark.cli import benchmark_main

if __name__ == "__main__":
    benchmark_main(None, repo_root=Path(__file__).resolve().parents[1])
