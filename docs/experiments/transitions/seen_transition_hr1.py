"""Throw-away: where SASRec's top-1 advantage comes from. Reads the per-user ranks of the seventh session
(``/work/exp/valtest-sasrec.npy``, ``/work/exp/valtest-minilm-mindrec.npy``: rank of the target in each model's
top-10, 99 = not listed, rows = validation / test users) and cuts HR@1 and HR@10 by whether the pair (user's last
history item -> target) occurs in the training sequences, and whether the target is cold (< 10 training interactions).

    python docs/experiments/transitions/seen_transition_hr1.py SASREC_RANKS MINDREC_RANKS
"""

import pathlib
import sys
from collections import Counter

import numpy as np

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path

sasrec, mindrec = np.load(sys.argv[1]), np.load(sys.argv[2])
protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
splits = data.splits
counts = interaction_counts(splits["train"], data.num_items).numpy()
seen = Counter(zip((history[-1] for history in splits["train"]["history"]), splits["train"]["target"], strict=True))
for k, split in enumerate(("validation", "test")):
    histories, targets = splits[split]["history"], splits[split]["target"]
    last_seen = np.array([seen[(history[-1], target)] > 0 for history, target in zip(histories, targets, strict=True)])
    earlier_seen = np.array([any(seen[(item, target)] > 0 for item in history) for history, target in zip(histories, targets, strict=True)])
    cold = counts[np.array(targets)] < 10
    print(f"{split}: (last item -> target) seen in training for {last_seen.mean():.3f} of users, "
          f"(some history item -> target) for {earlier_seen.mean():.3f}")
    for name, cut in (("last item's", last_seen), ("an earlier item's", earlier_seen & ~last_seen), ("none", ~earlier_seen)):
        for label, group in (("cold", cold), ("warm", ~cold)):
            users = cut & group
            print(f"  {name:18s} {label}: share {users.mean():.3f}  HR@1 SASRec {(sasrec[k][users] == 0).mean():.4f} "
                  f"MindRec {(mindrec[k][users] == 0).mean():.4f}  HR@10 SASRec {(sasrec[k][users] < 10).mean():.3f} "
                  f"MindRec {(mindrec[k][users] < 10).mean():.3f}")
