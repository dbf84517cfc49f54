#!/usr/bin/env python
"""Regenerate README.md's results section from the latest docs/results/<protocol>.json.

Example:
    python scripts/update_readme_results.py
    python scripts/update_readme_results.py --file docs/results/beauty-mindrec.json
"""

from pathlib import Path

from mindrec.benchmark.cli import update_readme_main

if __name__ == "__main__":
    update_readme_main(None, repo_root=Path(__file__).resolve().parents[1])
