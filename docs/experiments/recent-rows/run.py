#!/usr/bin/env python
"""Probe (not a package feature): a learning curve with each user's newest training rows drawn more often.

Leave-one-out holds out each user's two newest items, so the training rows nearest to them in time are each user's
last ones; RECENT_ROWS=k of them per user are added RECENT_REPEATS more times to every epoch's shuffle (an epoch keeps
its length, so older rows are drawn correspondingly less often). Arguments are scripts/learning_curves.py's:

    RECENT_ROWS=1 RECENT_REPEATS=1 python docs/experiments/recent-rows/run.py --protocol beauty-full --plan mindrec \
        --name s22-recent1x1 --max-steps 1028 --eval-steps 257 --num-threads 1 --output_dir /work/exp/curves \
        --work-dir /work/exp/work/s22-recent1x1
"""

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mindrec.benchmark.curves import curves_main  # noqa: E402
from mindrec.training.trainer import Trainer, derive_seed  # noqa: E402

RECENT_ROWS = int(os.environ["RECENT_ROWS"])
RECENT_REPEATS = int(os.environ["RECENT_REPEATS"])


def recent_rows(trainer) -> np.ndarray:
    """The row indices of each user's RECENT_ROWS newest training rows (rows come user by user, oldest first)."""
    users = trainer._train_rows.user_ids.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    from_end = np.zeros(len(users), dtype=np.int64)  # 0 for a user's newest row, 1 for the one before, ...
    for row in range(len(users) - 2, -1, -1):
        if users[row] == users[row + 1]:
            from_end[row] = from_end[row + 1] + 1
    return np.flatnonzero(from_end < RECENT_ROWS)


def epoch_order(self, epoch: int) -> torch.LongTensor:
    if not hasattr(self, "_recent"):
        self._recent = torch.from_numpy(recent_rows(self))
    generator = torch.Generator().manual_seed(derive_seed("order", self.args.seed, epoch))
    rows = torch.cat([torch.arange(len(self._train_rows)), self._recent.repeat(RECENT_REPEATS)])
    return rows[torch.randperm(len(rows), generator=generator)]


Trainer._epoch_order = epoch_order

if __name__ == "__main__":
    curves_main(None, repo_root=Path(__file__).resolve().parents[3])
