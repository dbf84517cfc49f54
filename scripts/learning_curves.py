#!/usr/bin/env python
"""Train one plan of a benchmark protocol (with overrides) and record its validation learning curve.

Example (the experiments log, docs/experiments/, lists every command run):
    python scripts/learning_curves.py --protocol beauty-full --plan tiger --name tiger --max-steps 1028 --eval-steps 257

``--help`` lists every option.
"""

import os
from pathlib import Path

# Passive OpenMP waiting (see scripts/train.py): spinning threads slow a shared 2-core machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mindrec.benchmark.curves import curves_main  # noqa: E402

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[1])
