"""Throw-away: does averaging several independently trained models' scores raise top-1? Decodes a split with each
beauty-full MindRec checkpoint given (its fused one-pass row, as its generation_config says), keeps each model's fused
score over the catalogue divided by its retrieval weight (the head's log-probs plus the credits, in log units), and
ranks by their mean over the first 1, 2, ... models. With ``--sasrec DIR ...`` does the same for saved SASRecs
(``DIR/model.pt``; log_softmax of ``item_scores`` with the credits given), for the baseline's side of the comparison.
One JSON line per ensemble size.

    python docs/experiments/seed-ensemble/probe.py SPLIT CHECKPOINT... [--sasrec MU LAMBDA DIR...]
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

split_name, rest = sys.argv[1], sys.argv[2:]
checkpoints, sasrec_args = (rest[: rest.index("--sasrec")], rest[rest.index("--sasrec") + 1 :]) if "--sasrec" in rest else (rest, [])


def report(name, members, targets):
    total = None
    for size, scores in enumerate(members, start=1):
        total = scores.float() if total is None else total + scores.float()
        mean = total / size
        rank = (mean > mean.gather(1, targets[:, None])).sum(1)
        print(json.dumps({"models": name, "size": size, "hr@1": round((rank == 0).float().mean().item(), 4),
                          "hr@10": round((rank < 10).float().mean().item(), 4),
                          "ndcg@10": round(torch.where(rank < 10, 1 / torch.log2(rank.float() + 2), 0.0).mean().item(), 4)}),
              flush=True)  # fmt: skip


members, targets, data, counts = [], None, None, None
for checkpoint in checkpoints:
    data, counts, trained = probe_inputs(checkpoint)
    install_split_counts(trained, data, split_name)
    config = trained.generation_config
    batches = []
    record_fused_decoding(
        lambda fused, log_probs, index, into=batches, weight=config.retrieval_weight: into.append((fused / weight).half())
    )
    result = decode_split(trained, config, data, split_name, counts)
    print(json.dumps({"mindrec": checkpoint, "as_decoded": {k: round(v, 4) for k, v in result.metrics.items()
                                                            if k in ("hr@1", "ndcg@10", "hr@10")}}), flush=True)  # fmt: skip
    members.append(torch.cat(batches))
    targets = torch.as_tensor(np.asarray(result.targets))
report("mindrec", members, targets)
excluded = torch.isinf(members[0]) if members else None
del members

if sasrec_args:
    mu, lam, dirs = float(sasrec_args[0]), float(sasrec_args[1]), sasrec_args[2:]
    histories = [list(h) for h in data.splits[split_name]["history"]]
    sas_members = []
    for model_dir in dirs:
        sasrec = load_saved_sasrec(model_dir, data, PROTOCOLS["beauty-full"].plans["sasrec"], counts, item_brand_ids(data.items))
        install_sasrec_split_counts(sasrec, data, split_name)
        sasrec.config.brand_adjustment, sasrec.config.transition_adjustment = mu, lam
        parts = []
        with torch.no_grad():
            for start in range(0, len(histories), 500):
                parts.append(torch.log_softmax(sasrec.item_scores(histories[start : start + 500]), dim=1).half())
        sas_members.append(torch.cat(parts).masked_fill(excluded, float("-inf")))
    report("sasrec", sas_members, targets)
