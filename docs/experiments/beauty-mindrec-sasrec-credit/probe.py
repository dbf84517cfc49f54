"""Throw-away: does beauty-mindrec's SASRec prefer, on validation, what beauty-full's SASRec got (MindRec's popularity
prior in its logits, and the transition credit at ranking)? Trains the protocol's SASRec plan (one seed, its own
budget) with ``popularity_prior`` PRIOR (validating with the credit at 1.5 / 0.5, as the training installs it), then ranks validation with the package's transition options.

    python docs/experiments/beauty-mindrec-sasrec-credit/probe.py SEED PRIOR LAM:DECAY [...]
"""

import json
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts
from mindrec.baselines.sasrec import SASRecConfig
from mindrec.baselines.sasrec_training import SASRecTrainingArguments, train_sasrec
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics
from mindrec.evaluation.target_popularity import cold_target_metrics

torch.set_num_threads(1)
seed, prior = int(sys.argv[1]), float(sys.argv[2])
specs = [[float(value) for value in spec.split(":")] for spec in sys.argv[3:]]
protocol = PROTOCOLS["beauty-mindrec"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
args = SASRecTrainingArguments(**{"seed": seed, "eval_exclude_history": True, "show_progress": False, **plan.training})
model, history = train_sasrec(data.splits, data.num_items, SASRecConfig(**{**plan.model, "popularity_prior": prior,
                                                                        "transition_adjustment": 1.5, "transition_decay": 0.5}), args)
best = max(history, key=lambda entry: entry["validation_ndcg@10"])
print(json.dumps({"seed": seed, "prior": prior, "epochs": len(history), "best_epoch": best["epoch"],
                  "validation_ndcg@10 (training's own)": round(best["validation_ndcg@10"], 4)}), flush=True)
model.eval()
split = data.splits["validation"]
targets = torch.tensor(split["target"])
for lam, decay in specs:
    model.config.transition_adjustment, model.config.transition_decay = lam, decay
    ranked = model.recommend(split["history"], 10, exclude_history=True)
    metrics = {**ranking_metrics(ranked, targets, ks=(1, 10)), **cold_target_metrics(ranked, targets, counts, ks=(10,))}
    print(json.dumps({"seed": seed, "prior": prior, "transition_adjustment": lam, "transition_decay": decay,
                      **{name: round(float(value), 4) for name, value in metrics.items()}}), flush=True)
