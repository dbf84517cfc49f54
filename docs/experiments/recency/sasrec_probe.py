"""Throw-away: the same popularity / recency adjustment applied to SASRec, so that the baseline gets the decoding
prior MindRec gets. Trains the beauty-full SASRec plan (one seed, selected on all validation users, as in the sixth
session), then ranks validation and test with its logits - beta * log(1 + count) + gamma * log(1 + recent count).

    python docs/experiments/recency/sasrec_probe.py SEED BETA:GAMMA [BETA:GAMMA ...]

With REFRESH_COUNTS=1 the test split is ranked with the counts as of its targets (training + validation items).
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts, latest_interaction_counts
from mindrec.baselines.sasrec import SASRecConfig
from mindrec.baselines.sasrec_training import SASRecTrainingArguments, train_sasrec
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics
from mindrec.evaluation.target_popularity import cold_target_metrics

torch.set_num_threads(1)
seed, pairs = int(sys.argv[1]), sys.argv[2:]
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
args = SASRecTrainingArguments(**{"seed": seed, "eval_exclude_history": True, **plan.training, "max_train_minutes": 25})
model, history = train_sasrec(data.splits, data.num_items, SASRecConfig(**plan.model), args)
best = max(history, key=lambda entry: entry["validation_ndcg@10"])
print(json.dumps({"seed": seed, "best_epoch": best["epoch"], "validation_ndcg@10": round(best["validation_ndcg@10"], 4)}),
      flush=True)
torch.set_grad_enabled(False)
model.eval()
counts = interaction_counts(data.splits["train"], data.num_items)
recent = latest_interaction_counts(data.splits["validation"], data.num_items)
refresh = os.environ.get("REFRESH_COUNTS") == "1"
for split_name in ("validation", "test"):
    split = data.splits[split_name]
    if refresh and split_name == "test":
        # As probe.py with REFRESH_COUNTS=1: the counts as of the test targets (training + validation items).
        counts = counts + torch.bincount(torch.tensor(data.splits["validation"]["target"]), minlength=data.num_items)
        recent = latest_interaction_counts(split, data.num_items)
    histories, targets = split["history"], torch.tensor(split["target"])
    scores = torch.cat([model.item_scores(histories[start : start + 1024]) for start in range(0, len(histories), 1024)])
    scores = scores[:, : data.num_items].float()
    for row, items in enumerate(histories):
        scores[row, items] = float("-inf")
    for pair in pairs:
        beta, gamma = (float(value) for value in pair.split(":"))
        adjusted = scores - beta * torch.log1p(counts.float()) + gamma * torch.log1p(recent.float())
        ranked = adjusted.topk(10, dim=-1).indices
        metrics = {**ranking_metrics(ranked, targets, ks=(1, 10)), **cold_target_metrics(ranked, targets, counts, ks=(10,))}
        print(json.dumps({"seed": seed, "split": split_name, "beta": beta, "gamma": gamma, "refreshed_counts": refresh,
                          **{name: round(float(value), 4) for name, value in metrics.items()}}), flush=True)
