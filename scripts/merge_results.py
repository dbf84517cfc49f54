#!/usr/bin/env python
"""Merge the result files of one benchmark protocol run in parts (seeds or models in parallel processes).

Example:
    python scripts/merge_results.py runs/tiger/beauty-full.json runs/mindrec/beauty-full.json --output docs/results

``--help`` lists every option.
"""

from mindrec.benchmark.cli import merge_main

if __name__ == "__main__":
    merge_main(None)
