"""Throw-away: share of cold targets (< 10 train interactions) among the head's supervised next-item terms,
for the history loss with window w (0 = all), vs. validation/test targets."""
import pathlib

import numpy as np

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path

protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = np.asarray(interaction_counts(data.splits["train"], data.num_items))
train = data.splits["train"]
hist, tgt = train["history"], train["target"]
for name in ("validation", "test"):
    t = np.asarray(data.splits[name]["target"])
    print(name, "cold share", round(float((counts[t] < 10).mean()), 3), "mean log1p count", round(float(np.log1p(counts[t]).mean()), 3))
for w in (0, 1, 2, 3, 5):
    cold = total = 0
    logc = 0.0
    for h, y in zip(hist, tgt, strict=False):
        seq = list(h) + [y]
        nexts = seq[1:]  # history item j predicts seq[j+1]
        if w:
            nexts = nexts[-w:]
        c = counts[nexts]
        cold += int((c < 10).sum())
        total += len(nexts)
        logc += float(np.log1p(c).sum())
    print("window", w, "terms", total, "cold share", round(cold / total, 3), "mean log1p count", round(logc / total, 3))
