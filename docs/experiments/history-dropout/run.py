#!/usr/bin/env python
"""Probe (not a package feature): a learning curve with history items dropped at random in training.

Each training row keeps its newest history item and drops every other one with probability HISTORY_DROPOUT
(from the loop's per-step collate generator, so a run is reproducible); validation and test read whole histories.
Arguments are scripts/learning_curves.py's:

    HISTORY_DROPOUT=0.1 python docs/experiments/history-dropout/run.py --protocol beauty-full --plan mindrec \
        --name s21-hdrop0.1 --max-steps 1542 --eval-steps 257 --num-threads 1 --output_dir /work/exp/curves \
        --work-dir /work/exp/work/s21-hdrop0.1
"""

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from mindrec.benchmark.curves import curves_main  # noqa: E402
from mindrec.training.collator import MindRecCollator  # noqa: E402

DROPOUT = float(os.environ["HISTORY_DROPOUT"])
_collate = MindRecCollator.__call__


def collate_with_history_dropout(self, rows, generator=None):
    if generator is None:  # not the training loop
        return _collate(self, rows, generator)
    thinned = []
    for row in rows:
        history = list(row["history"])
        if len(history) > 1:
            keep = (torch.rand(len(history) - 1, generator=generator) >= DROPOUT).tolist() + [True]
            history = [item for item, kept in zip(history, keep, strict=True) if kept]
        thinned.append({**row, "history": history})
    return _collate(self, thinned, generator)


MindRecCollator.__call__ = collate_with_history_dropout

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[3])
