"""Throw-away: the transition prior of probe.py applied to SASRec, so that the baseline gets what MindRec gets.
Trains the beauty-full SASRec plan (one seed, selected on all validation users, as its table row), saves it, then
ranks validation and test with its logits + lam * log(1 + c / alpha) (+ lam2 * the same for the second-to-last item).

    python docs/experiments/transitions/sasrec_probe.py SEED OUT_DIR LAM[:ALPHA[:LAM2]] [...]

A SEED whose OUT_DIR already holds model.pt is loaded instead of trained.
"""

import json
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts, transition_counts
from mindrec.baselines.sasrec import SASRecConfig, SASRecModel
from mindrec.baselines.sasrec_training import SASRecTrainingArguments, train_sasrec
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics
from mindrec.evaluation.target_popularity import cold_target_metrics

torch.set_num_threads(1)
seed, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
specs = [([float(v) for v in spec.split(":")] + [1.0, 0.0][len(spec.split(":")) - 1 :])[:3] for spec in sys.argv[3:]]
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
out.mkdir(parents=True, exist_ok=True)
if (out / "model.pt").exists():
    model = SASRecModel(SASRecConfig(**{**plan.model, "num_items": data.num_items}))
    model.set_item_counts(interaction_counts(data.splits["train"], data.num_items))
    model.load_state_dict(torch.load(out / "model.pt"))
else:
    args = SASRecTrainingArguments(**{"seed": seed, "eval_exclude_history": True, "show_progress": False, **plan.training,
                                      "max_train_minutes": 25})
    model, history = train_sasrec(data.splits, data.num_items, SASRecConfig(**plan.model), args)
    best = max(history, key=lambda entry: entry["validation_ndcg@10"])
    print(json.dumps({"seed": seed, "best_epoch": best["epoch"], "validation_ndcg@10": round(best["validation_ndcg@10"], 4)}),
          flush=True)
    torch.save(model.state_dict(), out / "model.pt")
torch.set_grad_enabled(False)
model.eval()
train = data.splits["train"]
counts = interaction_counts(train, data.num_items)
# Every consecutive training pair once (each train row's last history item and target), as the package counts them.
pairs = transition_counts(train, data.num_items).float()
for split_name in ("validation", "test"):
    split = data.splits[split_name]
    histories, targets = split["history"], torch.tensor(split["target"])
    scores = torch.cat([model.item_scores(histories[start : start + 1024]) for start in range(0, len(histories), 1024)])
    scores = scores[:, : data.num_items].float()
    for row, items in enumerate(histories):
        scores[row, items] = float("-inf")
    last = torch.tensor([history[-1] for history in histories])
    second = torch.tensor([history[-2] if len(history) > 1 else -1 for history in histories])
    for lam, alpha, lam2 in specs:
        adjusted = scores.clone()
        for weight, rows in ((lam, last), (lam2, second)):
            if weight:
                for start in range(0, len(histories), 2048):
                    block = rows[start : start + 2048]
                    transitions = torch.index_select(pairs, 0, block.clamp(min=0)).to_dense()
                    transitions[block < 0] = 0
                    adjusted[start : start + 2048] += weight * torch.log1p(transitions / alpha)
        ranked = adjusted.topk(10, dim=-1).indices
        metrics = {**ranking_metrics(ranked, targets, ks=(1, 10)), **cold_target_metrics(ranked, targets, counts, ks=(10,))}
        print(json.dumps({"seed": seed, "split": split_name, "lam": lam, "alpha": alpha, "lam2": lam2,
                          **{name: round(float(value), 4) for name, value in metrics.items()}}), flush=True)
