"""Throw-away: does crediting items of the brands in a user's history lift the fused row's top of list?

19% of beauty-full's validation targets share a brand with a history item (10% with the last one); most brands are
small (2,075 brands, 1,093 with one item), so "same brand as what the user bought" narrows the catalogue a lot. The
head sees brands only through the item codes' text half. This probe decodes a split once with the checkpoint's
options, keeps every user's fused score S over the catalogue and re-ranks offline with S + w * A * f(i, user) (w the retrieval weight, so A is in the head's logit units, as the
credits are) for
brand features f: ``any`` (the item's brand is in the history), ``last`` (the last item's brand), ``decayed``
(sum over history items of the same brand of 0.5**k, k = places before the end), each optionally divided by
log(2 + the brand's catalogue size) (``/size``). One JSON line per (feature, A).

    python docs/experiments/brand/probe.py CHECKPOINT SPLIT
"""

import json
import math
import os
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import decode_split, install_split_counts, probe_inputs, record_fused_decoding  # noqa: E402

checkpoint, split_name = sys.argv[1], sys.argv[2]
data, counts, trained = probe_inputs(checkpoint)
install_split_counts(trained, data, split_name)
config = trained.generation_config
stored = []
record_fused_decoding(lambda fused, log_probs, index: stored.append(fused))
result = decode_split(trained, config, data, split_name, counts)
print(json.dumps({"checkpoint": checkpoint, "split": split_name,
                  "as_decoded": {k: round(v, 4) for k, v in result.metrics.items() if k in ("hr@1", "ndcg@10", "hr@10")}}),
      flush=True)

brands = [b.strip().lower() for b in data.items["brand"]]
names = sorted({b for b in brands if b})  # "unknown" is a value too; the size scaling damps it
lookup = {b: k for k, b in enumerate(names)}
brand_id = np.array([lookup.get(b, -1) for b in brands])
size = np.bincount(brand_id[brand_id >= 0], minlength=len(names))
item_brand = torch.as_tensor(brand_id)
size_norm = torch.as_tensor(
    [1 / math.log(2 + size[b]) if b >= 0 else 0.0 for b in brand_id], dtype=torch.float32
)
rows = data.splits[split_name]
histories, targets = rows["history"], torch.as_tensor(rows["target"])
assert torch.equal(targets, torch.as_tensor(np.asarray(result.targets))), "split order differs from the decode's"


def features(history):
    """``{name: [num_items]}`` brand features of one user."""
    weights = np.zeros(len(names) + 1)
    for k, item in enumerate(reversed(history)):
        weights[brand_id[item]] += 0.5**k
    weights[-1] = 0.0  # index -1 = no brand
    decayed = torch.as_tensor(weights[brand_id], dtype=torch.float32)
    any_ = (decayed > 0).float()
    last = (item_brand == brand_id[history[-1]]).float() if brand_id[history[-1]] >= 0 else torch.zeros(len(brand_id))
    return {"any": any_, "last": last, "decayed": decayed}


weights_a = [float(v) for v in os.environ.get("WEIGHTS", "0.25,0.5,1,2,4").split(",")]
kinds = os.environ.get("FEATURES", "any,last,decayed,any/size,last/size,decayed/size").split(",")
variants = [("none", 0.0)] + [(f, a) for f in kinds for a in weights_a]
totals = {v: np.zeros(3) for v in variants}
row = 0
for fused in stored:
    batch = fused.shape[0]
    feats = [features(histories[row + u]) for u in range(batch)]
    stacked = {name: torch.stack([f[name] for f in feats]) for name in ("any", "last", "decayed")}
    target = targets[row:row + batch]
    row += batch
    for name, a in variants:
        if name == "none":
            scores = fused
        else:
            base, _, normed = name.partition("/")
            feature = stacked[base] * (size_norm if normed else 1.0)
            scores = fused + config.retrieval_weight * a * feature  # A in the head's logit units
        rank = (scores > scores.gather(1, target[:, None])).sum(1)
        totals[(name, a)] += np.array([(rank == 0).sum().item(), (rank < 10).sum().item(),
                                       torch.where(rank < 10, 1 / torch.log2(rank.float() + 2), 0.0).sum().item()])
for (name, a), (hr1, hr10, ndcg) in totals.items():
    print(json.dumps({"feature": name, "a": a, "hr@1": round(hr1 / row, 4), "hr@10": round(hr10 / row, 4),
                      "ndcg@10": round(ndcg / row, 4)}), flush=True)
