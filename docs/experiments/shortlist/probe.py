"""Throw-away: does the generative head re-rank the fused decoder's shortlist better than it breaks ties?

The fused row scores an item ``S(i) = G'(i) + 100 * R(i)`` (G' the generative one-pass log-prob with the rare-item
weight, R the retrieval head's log-softmax with the decoding credits). Top-1 hits sit almost all on targets that
followed a history item in training; there the head's shortlist holds the target (HR@10 ~.65) but ranks another of
the last item's successors first. G is the sum of 3 category-level log-probs and 4 digit log-probs. This probe decodes
a split once, keeps every user's S and, over the whole catalogue, G, its category part and its digit part (each
centred on its catalogue mean), then re-ranks offline with ``S + A * (part - mean)`` over the whole catalogue (M 0) or
within the M best items by S. One JSON line per (part, M, A); every other option is the checkpoint's.

    python docs/experiments/shortlist/probe.py CHECKPOINT SPLIT
"""

import json
import pathlib
import sys

import numpy as np
import torch

import mindrec.modeling.decoding_catalogue_scoring as scoring

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import decode_split, install_split_counts, probe_inputs, record_fused_decoding  # noqa: E402

checkpoint, split_name = sys.argv[1], sys.argv[2]
data, counts, trained = probe_inputs(checkpoint)
install_split_counts(trained, data, split_name)
config = trained.generation_config
levels = trained.model.config.num_category_levels
stored = {"S": [], "whole": [], "category": [], "digits": []}


def record(fused, log_probs, index):
    for name, slots in (("whole", slice(None)), ("category", slice(0, levels)), ("digits", slice(levels, None))):
        part = scoring.catalogue_log_probs(log_probs[:, slots], index.item_codes[:, slots])
        stored[name].append(
            part - scoring.catalogue_mean_log_probs(log_probs[:, slots], index.item_codes[:, slots])[:, None]
        )
    stored["S"].append(fused)


record_fused_decoding(record)
result = decode_split(trained, config, data, split_name, counts)
print(
    json.dumps(
        {
            "checkpoint": checkpoint,
            "split": split_name,
            "as_decoded": {
                k: round(v, 4) for k, v in result.metrics.items() if k in ("hr@1", "ndcg@10", "hr@10")
            },
        }
    ),
    flush=True,
)
targets = torch.as_tensor(np.asarray(result.targets))
variants = [("none", 0, 0.0)] + [
    (part, m, a)
    for part in ("whole", "category", "digits")
    for m in (0, 2, 5, 20)
    for a in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
]
totals = {variant: np.zeros(3) for variant in variants}
rows = 0
for index, fused in enumerate(stored["S"]):
    batch = targets[rows : rows + fused.shape[0]]
    rows += fused.shape[0]
    for part, m, a in variants:
        if part == "none":
            scores = fused
        elif m == 0:
            scores = fused + a * stored[part][index]
        else:
            top = fused.topk(m, dim=1).indices
            scores = fused.clone()
            scores.scatter_add_(1, top, a * stored[part][index].gather(1, top))
        rank = (scores > scores.gather(1, batch[:, None])).sum(1)
        totals[(part, m, a)] += np.array(
            [
                (rank == 0).sum().item(),
                (rank < 10).sum().item(),
                torch.where(rank < 10, 1 / torch.log2(rank.float() + 2), 0.0).sum().item(),
            ]
        )
for (part, m, a), (hr1, hr10, ndcg) in totals.items():
    print(
        json.dumps(
            {
                "part": part,
                "m": m,
                "a": a,
                "hr@1": round(hr1 / rows, 4),
                "hr@10": round(hr10 / rows, 4),
                "ndcg@10": round(ndcg / rows, 4),
            }
        ),
        flush=True,
    )
