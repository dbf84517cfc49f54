"""Throw-away: cold-target NDCG@10 (< 10 training interactions) of the per-user ranks saved by
val-test-popularity/valtest.py (SASRec and the all-MiniLM MindRec of the seventh session), validation and test."""
import pathlib
import sys

import numpy as np

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path

protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path("/work/main")))
counts = interaction_counts(data.splits["train"], data.num_items).numpy()
for path in sys.argv[1:]:
    ranks = np.load(path)  # [2, users]: 0-based rank of the target in the top 10, 99 when absent
    for split, rank in zip(("validation", "test"), ranks, strict=True):
        cold = counts[np.array(data.splits[split]["target"])] < 10
        gain = np.where(rank < 10, 1 / np.log2(rank + 2), 0.0)
        print(f"{path} {split}: ndcg@10 {gain.mean():.4f} cold {gain[cold].mean():.4f} warm {gain[~cold].mean():.4f} "
              f"cold share {cold.mean():.3f}")
