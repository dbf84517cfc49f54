"""Throw-away: HR@1 of ranking first the most frequent training successor of the user's last item (history items
excluded; counts as of each split's targets, without the gap decay). Prints one line per split."""

import pathlib

import torch

from mindrec.baselines import decoding_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path

p = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(p, resolve_data_path(p, None, pathlib.Path(__file__).parents[3]))
for split in ("validation", "test"):
    c = decoding_counts(data.splits, data.num_items, split, 0.0)["transition_counts"]
    c = c.to_dense() if c.is_sparse else torch.as_tensor(c)
    hits = seen = n = 0
    for h, t in zip(data.splits[split]["history"], data.splits[split]["target"], strict=True):
        n += 1
        row = c[h[-1]].clone().float()
        row[list(h)] = -1
        if row.max() > 0:
            seen += 1
            hits += int(row.argmax() == t)
    print(split, "most frequent successor of the last item: HR@1", round(hits / n, 4),
          "users whose last item has a successor", round(seen / n, 3))  # fmt: skip
