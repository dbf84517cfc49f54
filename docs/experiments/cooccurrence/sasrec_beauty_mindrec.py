"""Throw-away: which transition gap decay does beauty-mindrec's SASRec prefer on its own validation? (The 0.75 it
runs with was chosen on beauty-full's validation.) Trains the protocol's SASRec plan as the benchmark does (one seed,
its own budget and options, checkpoint selection with its plan's gap decay), then ranks all 5,000 validation users with
the transition counts taken at each gap decay G; one JSON line per G.

    python docs/experiments/cooccurrence/sasrec_beauty_mindrec.py SEED G [G ...]
"""

import json
import pathlib
import sys

import torch

from mindrec.baselines import decoding_counts
from mindrec.baselines.popularity import interaction_counts
from mindrec.baselines.sasrec import SASRecConfig
from mindrec.baselines.sasrec_training import SASRecTrainingArguments, train_sasrec
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics
from mindrec.evaluation.target_popularity import cold_target_metrics

torch.set_num_threads(1)
seed = int(sys.argv[1])
protocol = PROTOCOLS["beauty-mindrec"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
args = SASRecTrainingArguments(**{"seed": seed, "eval_exclude_history": True, "show_progress": False,
                                  **plan.training, "max_train_minutes": 60.0})
model, history = train_sasrec(data.splits, data.num_items, SASRecConfig(**plan.model), args)
best = max(history, key=lambda entry: entry["validation_ndcg@10"])
print(json.dumps({"seed": seed, "epochs": len(history), "best_epoch": best["epoch"],
                  "validation_ndcg@10 (training's own)": round(best["validation_ndcg@10"], 4)}), flush=True)
model.eval()
split = data.splits["validation"]
targets = torch.tensor(split["target"])
for gap in (float(value) for value in sys.argv[2:]):
    model.set_item_transitions(decoding_counts(data.splits, data.num_items, "validation", gap)["transition_counts"])
    ranked = model.recommend(split["history"], 10, exclude_history=True)
    metrics = {**ranking_metrics(ranked, targets, ks=(1, 10)), **cold_target_metrics(ranked, targets, counts, ks=(10,))}
    print(json.dumps({"seed": seed, "gap_decay": gap, **{name: round(float(value), 4) for name, value in metrics.items()}}),
          flush=True)
