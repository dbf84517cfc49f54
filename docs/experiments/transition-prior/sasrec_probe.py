"""Throw-away: beauty-full's SASRec plan trained with the transition prior in its logits (``transition_prior`` RHO,
``transition_prior_decay`` DECAY, no decoding credit on top), one seed, selected on all validation users as its table
row; prints its best validation epoch and ranks validation (HR@1, NDCG@10) with extra decoding credit LAM at DECAY.

    python docs/experiments/transition-prior/sasrec_probe.py SEED RHO DECAY OUT_DIR [LAM ...]
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
seed, rho, decay, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), pathlib.Path(sys.argv[4])
credits = [float(value) for value in sys.argv[5:]] or [0.0]
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
model_options = {**plan.model, "transition_prior": rho, "transition_prior_decay": decay, "transition_adjustment": 0.0,
                 "transition_decay": 0.0}
args = SASRecTrainingArguments(**{"seed": seed, "eval_exclude_history": True, "show_progress": False, **plan.training,
                                  "max_train_minutes": 60})
model, history = train_sasrec(data.splits, data.num_items, SASRecConfig(**model_options), args)
best = max(history, key=lambda entry: entry["validation_ndcg@10"])
print(json.dumps({"seed": seed, "rho": rho, "decay": decay, "epochs": len(history), "best_epoch": best["epoch"],
                  "validation_ndcg@10 (training's own)": round(best["validation_ndcg@10"], 4)}), flush=True)
out.mkdir(parents=True, exist_ok=True)
model.save_pretrained(out)
model.eval()
split = data.splits["validation"]
targets = torch.tensor(split["target"])
for lam in credits:
    # A decoding credit on top of the prior, read at the prior's decay (0 = the prior alone).
    model.config.transition_adjustment, model.config.transition_decay = lam, decay if lam else 0.0
    ranked = model.recommend(split["history"], 10, exclude_history=True)
    metrics = {**ranking_metrics(ranked, targets, ks=(1, 10)), **cold_target_metrics(ranked, targets, counts, ks=(10,))}
    print(json.dumps({"seed": seed, "rho": rho, "decay": decay, "credit": lam,
                      **{name: round(float(value), 4) for name, value in metrics.items()}}), flush=True)
