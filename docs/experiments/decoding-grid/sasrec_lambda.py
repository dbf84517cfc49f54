"""Throw-away: the baseline's transition credit re-read beside MindRec's decoding grid. Trains the beauty-full SASRec
plan for one seed exactly as the benchmark does (or loads OUT_DIR/model.pt when a previous call saved it), then ranks
validation and test as the benchmark ranks test (the transitions as of the split's targets, counted with the plan's
gap decay), once per lambda (its transition_adjustment; every other option the plan's). One JSON line per split and
lambda.

    python docs/experiments/decoding-grid/sasrec_lambda.py SEED OUT_DIR LAM [LAM ...]
"""

import json
import pathlib
import sys

import torch

from mindrec.baselines import decoding_counts
from mindrec.baselines.popularity import interaction_counts
from mindrec.baselines.sasrec import SASRecConfig, SASRecModel
from mindrec.baselines.sasrec_training import SASRecTrainingArguments, train_sasrec
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender

torch.set_num_threads(1)
seed, out, lambdas = int(sys.argv[1]), pathlib.Path(sys.argv[2]), [float(value) for value in sys.argv[3:]]
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
out.mkdir(parents=True, exist_ok=True)
if (out / "model.pt").exists():
    model = SASRecModel(SASRecConfig(**{**plan.model, "num_items": data.num_items}))
    model.set_item_counts(counts)
    model.load_state_dict(torch.load(out / "model.pt"), strict=False)
else:
    args = SASRecTrainingArguments(
        **{"seed": seed, "show_progress": False, "eval_exclude_history": True, **plan.training}
    )
    model, history = train_sasrec(data.splits, data.num_items, SASRecConfig(**plan.model), args)
    best = max(history, key=lambda entry: entry["validation_ndcg@10"])
    print(json.dumps({"seed": seed, "epochs": len(history), "best_epoch": best["epoch"],
                      "validation_ndcg@10": round(best["validation_ndcg@10"], 4)}), flush=True)
    torch.save(model.state_dict(), out / "model.pt")
model.eval()
gap_decay = model.config.transition_gap_decay
for split_name in ("validation", "test"):
    model.set_item_transitions(decoding_counts(data.splits, data.num_items, split_name, gap_decay)["transition_counts"])
    for lam in lambdas:
        model.config.transition_adjustment = lam  # read at scoring time; > 0 keeps the config's own checks true
        result = evaluate_recommender(
            lambda histories: model.recommend(histories, 10, exclude_history=True),
            data.splits[split_name], data.num_items, ks=(1, 10), batch_size=1024, show_progress=False,
            item_counts=counts,
        )
        print(json.dumps({"seed": seed, "split": split_name, "lambda": lam, "gap_decay": gap_decay,
                          **{name: round(value, 4) for name, value in result.metrics.items()
                             if name in ("hr@1", "hr@10", "ndcg@10", "cold_ndcg@10")}}), flush=True)
