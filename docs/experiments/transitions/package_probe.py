"""Throw-away: decode a trained beauty-full MindRec checkpoint with the fused decoder and the package's own
``transition_adjustment`` and ``transition_decay`` options (the training transitions installed with
``set_item_transitions``), at several (lambda, decay), keeping the checkpoint's beta / gamma; one JSON line each.

    python docs/experiments/transitions/package_probe.py CHECKPOINT SPLIT LAM[:DECAY] [...]

PROTOCOL=beauty-mindrec reads that protocol's data instead of beauty-full's.
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts, transition_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation import metrics_by_target_popularity
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
checkpoint, split_name = sys.argv[1], sys.argv[2]
specs = [([float(value) for value in spec.split(":")] + [0.0])[:2] for spec in sys.argv[3:]]
protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
trained = load_trained_model(checkpoint, device="cpu")
trained.model.set_item_transitions(transition_counts(data.splits["train"], data.num_items))
config = trained.generation_config
for lam, decay in specs:
    config.update(transition_adjustment=lam, transition_decay=decay if lam else 0.0)
    result = evaluate_recommender(mindrec_recommender(trained.model, trained.tokenizer, config),
                                  data.splits[split_name], data.num_items, ks=(1, 10), batch_size=500,
                                  show_progress=False, item_counts=counts)
    buckets = metrics_by_target_popularity(result.item_lists, result.targets, counts, ks=(10,))
    line = {"checkpoint": checkpoint, "split": split_name, "transition_adjustment": lam, "transition_decay": config.transition_decay,
            "beta": config.popularity_adjustment, "gamma": config.recency_adjustment,
            **{name: round(value, 4) for name, value in result.metrics.items()},
            "ndcg@10_by_count": {label: round(row.get("ndcg@10", float("nan")), 4) for label, row in buckets.items()}}
    print(json.dumps(line), flush=True)
