"""Throw-away: a SASRec saved by sasrec_probe.py (beauty-full plan, model.pt) ranked with the package's own
``transition_adjustment`` / ``transition_decay`` options of ``SASRecConfig``; one JSON line per split and setting.

    python docs/experiments/transitions/sasrec_package_probe.py MODEL_DIR SPLIT[,SPLIT] LAM[:DECAY] [...]

COND_POWER=p scales each transition count c(h -> i) by (mean out-count / out-count(h)) ** p.
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts, transition_counts
from mindrec.baselines.sasrec import SASRecConfig, SASRecModel
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics
from mindrec.evaluation.target_popularity import cold_target_metrics

torch.set_num_threads(1)
model_dir, split_names = pathlib.Path(sys.argv[1]), sys.argv[2].split(",")
specs = [([float(value) for value in spec.split(":")] + [0.0])[:2] for spec in sys.argv[3:]]
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
transitions = transition_counts(data.splits["train"], data.num_items).coalesce()
if os.environ.get("COND_POWER"):
    # As docs/experiments/hr1/option_probe.py: c(h -> i) * (mean out-count / out-count(h)) ** COND_POWER.
    out = torch.zeros(data.num_items).index_add_(0, transitions.indices()[0], transitions.values().float())
    ratio = (out[out > 0].mean() / out[transitions.indices()[0]]) ** float(os.environ["COND_POWER"])
    transitions = torch.sparse_coo_tensor(transitions.indices(), transitions.values().float() * ratio, transitions.shape)
    transitions = transitions.coalesce()
weights = torch.load(model_dir / "model.pt")
for lam, decay in specs:
    config = SASRecConfig(**{**plan.model, "num_items": data.num_items, "transition_adjustment": lam,
                             "transition_decay": decay if lam else 0.0})
    model = SASRecModel(config)
    model.load_state_dict(weights, strict=False)
    model.set_item_counts(counts)
    if lam:
        model.set_item_transitions(transitions)
    model.eval()
    for split_name in split_names:
        split = data.splits[split_name]
        ranked = model.recommend(split["history"], 10, exclude_history=True)
        targets = torch.tensor(split["target"])
        metrics = {**ranking_metrics(ranked, targets, ks=(1, 10)), **cold_target_metrics(ranked, targets, counts, ks=(10,))}
        print(json.dumps({"model": str(model_dir), "split": split_name, "transition_adjustment": lam,
                          "transition_decay": config.transition_decay,
                          "cond_power": os.environ.get("COND_POWER"),
                          **{name: round(float(value), 4) for name, value in metrics.items()}}), flush=True)
