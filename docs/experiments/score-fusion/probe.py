"""Throw-away: how far apart are MindRec's and SASRec's top-1 picks? Decodes a split with a beauty-full MindRec
checkpoint (its fused one-pass row, as its generation_config says) and a saved SASRec (``MODEL_DIR/model.pt``, the
plan's config with its search's brand and transition credits), keeps both models' scores over the catalogue and ranks
by ``S_mindrec / retrieval_weight + w * log_softmax(SASRec)`` for a few w (w 0 = MindRec as decoded). Also counts the
users each model alone puts the target first for. Both see the split's transitions as of its targets. One JSON line
per w. Not a package feature: it tells whether an ID-only causal branch beside the code backbone has anything to add.

    python docs/experiments/score-fusion/probe.py MINDREC_CHECKPOINT SASREC_DIR SPLIT BRAND_MU TRANSITION_LAMBDA
"""

import json
import pathlib
import sys

import numpy as np
import torch

from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.data import item_brand_ids

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import (  # noqa: E402
    decode_split,
    install_sasrec_split_counts,
    install_split_counts,
    load_saved_sasrec,
    probe_inputs,
    record_fused_decoding,
)

checkpoint, sasrec_dir, split_name = sys.argv[1], sys.argv[2], sys.argv[3]
mu, lam = float(sys.argv[4]), float(sys.argv[5])
data, counts, trained = probe_inputs(checkpoint)
install_split_counts(trained, data, split_name)
config = trained.generation_config
fused_batches = []
record_fused_decoding(lambda fused, log_probs, index: fused_batches.append(fused / config.retrieval_weight))
result = decode_split(trained, config, data, split_name, counts)
print(json.dumps({"mindrec": checkpoint, "split": split_name, "as_decoded": {
    k: round(v, 4) for k, v in result.metrics.items() if k in ("hr@1", "ndcg@10", "hr@10")}}), flush=True)

sasrec = load_saved_sasrec(sasrec_dir, data, PROTOCOLS["beauty-full"].plans["sasrec"], counts, item_brand_ids(data.items))
install_sasrec_split_counts(sasrec, data, split_name)
sasrec.config.brand_adjustment, sasrec.config.transition_adjustment = mu, lam
histories = [list(h) for h in data.splits[split_name]["history"]]
targets = torch.as_tensor(np.asarray(result.targets))
weights = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, "sasrec")
totals = {w: np.zeros(3) for w in weights}
both = np.zeros(4)  # users with the target first for: neither, MindRec only, SASRec only, both
row = 0
with torch.no_grad():
    for fused in fused_batches:
        size = fused.shape[0]
        batch_targets = targets[row : row + size]
        sas = torch.log_softmax(sasrec.item_scores(histories[row : row + size]), dim=1)
        sas = sas.masked_fill(torch.isinf(fused), float("-inf"))  # the history items MindRec excluded
        row += size
        for w in weights:
            scores = sas if w == "sasrec" else fused + w * sas
            rank = (scores > scores.gather(1, batch_targets[:, None])).sum(1)
            totals[w] += [(rank == 0).sum().item(), (rank < 10).sum().item(),
                          torch.where(rank < 10, 1 / torch.log2(rank.float() + 2), 0.0).sum().item()]  # fmt: skip
        first = [(s.argmax(1) == batch_targets) for s in (fused, sas)]
        both += [(~first[0] & ~first[1]).sum().item(), (first[0] & ~first[1]).sum().item(),
                 (~first[0] & first[1]).sum().item(), (first[0] & first[1]).sum().item()]  # fmt: skip
for w, (hr1, hr10, ndcg) in totals.items():
    print(json.dumps({"w": w, "hr@1": round(hr1 / row, 4), "hr@10": round(hr10 / row, 4), "ndcg@10": round(ndcg / row, 4)}),
          flush=True)  # fmt: skip
print(json.dumps({"top1_neither_mindrec_sasrec_both": both.astype(int).tolist(), "users": row}), flush=True)
