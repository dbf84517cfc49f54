"""Throw-away: HR@1 / HR@10 of two models' per-user target ranks (.npy, 99 = not listed; from option_probe.py's RANKS_OUT
and the SASRec ranker below) cut by whether the pair (last history item -> target) occurs in the training sequences
(and whether the target is that item's most frequent successor), an earlier history item's pair does, or none; and
by cold (< 10 training interactions) and warm targets. A = the first file, B = the second.

    python docs/experiments/hr1/seen_groups.py SPLIT RANKS_A RANKS_B
"""

import pathlib
import sys
from collections import Counter

import numpy as np

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path

protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
splits = data.splits
counts = interaction_counts(splits["train"], data.num_items).numpy()
seen = Counter(zip((h[-1] for h in splits["train"]["history"]), splits["train"]["target"], strict=True))
split = sys.argv[1]
a, b = np.load(sys.argv[2]), np.load(sys.argv[3])
H, T = splits[split]["history"], splits[split]["target"]
last_seen = np.array([seen[(h[-1], t)] > 0 for h, t in zip(H, T, strict=True)])
# is the target the most frequent successor of the last item?
succ = {}
for (p, n), c in seen.items():
    if c > succ.get(p, (0, -1))[1] or (c == succ.get(p, (0, -1))[1] and n < succ[p][0]):
        succ[p] = (n, c)
top_succ = np.array([succ.get(h[-1], (-1, 0))[0] == t for h, t in zip(H, T, strict=True)])
earlier = np.array([any(seen[(i, t)] > 0 for i in h) for h, t in zip(H, T, strict=True)])
cold = counts[np.array(T)] < 10
print("HR@1", (a == 0).mean(), (b == 0).mean())
for name, cut in (
    ("last=top succ", last_seen & top_succ),
    ("last seen, not top", last_seen & ~top_succ),
    ("earlier", earlier & ~last_seen),
    ("none", ~earlier),
):
    for label, g in (("cold", cold), ("warm", ~cold)):
        u = cut & g
        print(
            f"{name:20s} {label}: share {u.mean():.3f} HR@1 A {(a[u] == 0).mean():.4f} B {(b[u] == 0).mean():.4f}  hits A {(a[u] == 0).sum()} B {(b[u] == 0).sum()}  HR@10 A {(a[u] < 10).mean():.3f} B {(b[u] < 10).mean():.3f}"
        )
