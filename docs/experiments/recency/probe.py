"""Throw-away: decode a trained beauty-full MindRec checkpoint with the fused decoder at several
(popularity_adjustment, recency_adjustment) pairs, with the package's own options, and print one JSON line each.

    python docs/experiments/recency/probe.py CHECKPOINT SPLIT BETA:GAMMA[:WEIGHT] [...]

WEIGHT is the fused decoder's retrieval_weight (100, the protocol's, when left out). With REFRESH_COUNTS=1 the counts are
those of the interactions before the split's targets (the split's histories), not the training split's.

Checkpoints trained before the recent counts existed get them installed here, from the same data the benchmark uses.
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts, latest_interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation import metrics_by_target_popularity
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
checkpoint, split_name, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
recent = latest_interaction_counts(data.splits["validation"], data.num_items)
trained = load_trained_model(checkpoint, device="cpu")
if bool(torch.isnan(trained.model.item_recent_log_counts).any()):
    trained.model.set_item_counts(counts, recent)
if os.environ.get("REFRESH_COUNTS") == "1":
    # The counts as of the split's targets: for test, the training interactions plus the validation items (the users'
    # newest known ones, the last items of the test histories) instead of the training split's alone.
    split = data.splits[split_name]
    known = counts
    if split_name == "test":
        known = counts + torch.bincount(torch.tensor(data.splits["validation"]["target"]), minlength=data.num_items)
    trained.model.set_item_counts(known, latest_interaction_counts(split, data.num_items))
for pair in pairs:
    beta, gamma, weight = ([float(value) for value in pair.split(":")] + [100.0])[:3]
    config = trained.generation_config
    config.update(retrieval_weight=weight, popularity_adjustment=beta, recency_adjustment=gamma)
    result = evaluate_recommender(mindrec_recommender(trained.model, trained.tokenizer, config),
                                  data.splits[split_name], data.num_items, ks=(1, 10), batch_size=500,
                                  show_progress=False, item_counts=counts)
    buckets = metrics_by_target_popularity(result.item_lists, result.targets, counts, ks=(10,))
    line = {"checkpoint": checkpoint, "split": split_name, "beta": beta, "gamma": gamma, "retrieval_weight": weight, "refreshed_counts": os.environ.get("REFRESH_COUNTS") == "1",
            **{name: round(value, 4) for name, value in result.metrics.items() if name != "users_per_second"},
            "ndcg@10_by_count": {label: round(row.get("ndcg@10", float("nan")), 4) for label, row in buckets.items()}}
    print(json.dumps(line), flush=True)
