"""Throw-away: a fused beauty-full MindRec checkpoint decoded with its head's logits credited with
lam * log(1 + c / alpha), c = how often the candidate followed the user's last history item in the training
sequences (a first-order transition prior), plus lam2 * the same for the second-to-last history item; prints one
JSON line each. A spec "dLAM:DECAY" instead credits every history item k places from the end with lam * decay^k.

    python docs/experiments/transitions/probe.py CHECKPOINT SPLIT LAM[:ALPHA[:LAM2]] | dLAM:DECAY [...]

The generation config's beta / gamma (popularity / recency adjustments) are kept.
"""

import json
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts, transition_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation import metrics_by_target_popularity
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.modeling import canvas_scoring
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
checkpoint, split_name = sys.argv[1], sys.argv[2]
specs = [("decay", *[float(v) for v in spec[1:].split(":")]) if spec.startswith("d") else
         ("pair", *([float(v) for v in spec.split(":")] + [1.0, 0.0][len(spec.split(":")) - 1 :])[:3]) for spec in sys.argv[3:]]
protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
train = data.splits["train"]
counts = interaction_counts(train, data.num_items)
# Every consecutive training pair once (each train row's last history item and target), as the package counts them.
pairs = transition_counts(train, data.num_items).float()

state = {"last": None, "second": None, "lam": 0.0, "alpha": 1.0, "lam2": 0.0, "decay": None, "histories": None}
original = canvas_scoring.MindRecCanvasScorer.item_log_probs


def item_log_probs(self, user_ids):
    log_probs = original(self, user_ids)
    bonus = 0.0
    if state["decay"] is not None:
        for row_in_batch, user in enumerate(user_ids.tolist()):
            history = state["histories"][user]
            for k, item in enumerate(reversed(history)):
                weight = state["lam"] * state["decay"] ** k
                if weight < 1e-3:
                    break
                row = torch.index_select(pairs, 0, torch.tensor([item])).to_dense()[0]
                log_probs[row_in_batch] += weight * torch.log1p(row)
        return torch.log_softmax(log_probs, dim=-1)
    for weight, key in ((state["lam"], "last"), (state["lam2"], "second")):
        if weight:
            rows = state[key][user_ids.cpu()]
            transitions = torch.index_select(pairs, 0, rows.clamp(min=0)).to_dense()  # [N, items]
            transitions[rows < 0] = 0
            bonus = bonus + weight * torch.log1p(transitions / state["alpha"])
    if state["lam"] or state["lam2"]:
        log_probs = torch.log_softmax(log_probs + bonus, dim=-1)
    return log_probs


canvas_scoring.MindRecCanvasScorer.item_log_probs = item_log_probs
trained = load_trained_model(checkpoint, device="cpu")
config = trained.generation_config
inner = mindrec_recommender(trained.model, trained.tokenizer, config)


def recommend(histories):
    state["histories"] = histories
    state["last"] = torch.tensor([history[-1] for history in histories])
    state["second"] = torch.tensor([history[-2] if len(history) > 1 else -1 for history in histories])
    return inner(histories)


split = data.splits[split_name]
for kind, *values in specs:
    if kind == "decay":
        (lam, decay), alpha, lam2 = values, 1.0, 0.0
    else:
        (lam, alpha, lam2), decay = values, None
    state.update(lam=lam, alpha=alpha, lam2=lam2, decay=decay)
    result = evaluate_recommender(recommend, split, data.num_items, ks=(1, 10), batch_size=500,
                                  show_progress=False, item_counts=counts)
    buckets = metrics_by_target_popularity(result.item_lists, result.targets, counts, ks=(10,))
    line = {"checkpoint": checkpoint, "split": split_name, "lam": lam, "alpha": alpha, "lam2": lam2, "decay": decay, "beta": config.popularity_adjustment,
            "gamma": config.recency_adjustment, "retrieval_weight": config.retrieval_weight,
            **{name: round(value, 4) for name, value in result.metrics.items() if name != "users_per_second"},
            "ndcg@10_by_count": {label: round(row.get("ndcg@10", float("nan")), 4) for label, row in buckets.items()}}
    print(json.dumps(line), flush=True)
