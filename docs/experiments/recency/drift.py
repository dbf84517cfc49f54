"""Throw-away: how much do item popularities drift? Popularity rankings (history excluded) from the total train
counts vs. counts over each user's newest k train interactions, scored on validation and test targets."""
import pathlib

import numpy as np

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path

protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
n = data.num_items
total = np.asarray(interaction_counts(data.splits["train"], n), dtype=float)
val = data.splits["validation"]
# validation history = all train items of the user (train items are x_0..x_{L-3}), newest last
hists = [list(h) for h in val["history"]]
def recent_counts(k):
    c = np.zeros(n)
    for h in hists:
        np.add.at(c, h[-k:], 1)
    return c
def ndcg(scores, split):
    s = data.splits[split]
    out = []
    for h, t in zip(s["history"], s["target"], strict=False):
        sc = scores.copy()
        sc[list(h)] = -np.inf
        rank = int((sc > sc[t]).sum())
        out.append(1 / np.log2(rank + 2) if rank < 10 else 0.0)
    return float(np.mean(out))
for name, sc in [("total", total)] + [(f"last{k}", recent_counts(k)) for k in (1, 2, 3, 5)]:
    print(name, "val", round(ndcg(sc + 1e-9 * total, "validation"), 4), "test", round(ndcg(sc + 1e-9 * total, "test"), 4))
for k in (1, 3):
    r = recent_counts(k)
    for g in (0.5, 1.0):
        sc = np.log1p(total) + g * (np.log1p(r) - np.log1p(total) * r.sum() / total.sum() * 0)
        print(f"log total + {g} log recent{k}", "val", round(ndcg(sc, "validation"), 4))
