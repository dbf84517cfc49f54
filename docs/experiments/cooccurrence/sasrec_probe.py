"""Throw-away: the SASRec of docs/experiments/transitions/sasrec_probe.py (beauty-full plan, model.pt) ranked with its
transition credit (lambda 1.5, decay 0.5, raw counts, as benchmarked) over c(h -> i) + SKIP * c2(h -> i), c2 = pairs
two places apart (see probe.py); one JSON line per SKIP. With GAP=1 the values are the package's
``transition_gap_decay`` instead (every later item of a row, d places apart, weighing g**(d-1)); LAMBDA overrides the
plan's lambda.

    python docs/experiments/cooccurrence/sasrec_probe.py MODEL_DIR SPLIT SKIP [SKIP ...]
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines import decoding_counts
from mindrec.baselines.popularity import OBSERVED_BEFORE, interaction_counts
from mindrec.baselines.sasrec import SASRecConfig, SASRecModel
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics
from mindrec.evaluation.target_popularity import cold_target_metrics

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from skip import skip_counts  # noqa: E402

torch.set_num_threads(1)
model_dir, split_name = pathlib.Path(sys.argv[1]), sys.argv[2]
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
direct = decoding_counts(data.splits, data.num_items, split_name)["transition_counts"].coalesce().float()
first, *others = (skip_counts(data.splits[name], data.num_items) for name in OBSERVED_BEFORE[split_name])
skips = sum(others, start=first).coalesce()
lambda_override = {"transition_adjustment": float(os.environ["LAMBDA"])} if os.environ.get("LAMBDA") else {}
model = SASRecModel(SASRecConfig(**{**plan.model, "num_items": data.num_items, **lambda_override}))
model.load_state_dict(torch.load(model_dir / "model.pt"), strict=False)
model.set_item_counts(counts)
model.eval()
split = data.splits[split_name]
targets = torch.tensor(split["target"])
for skip_weight in (float(value) for value in sys.argv[3:]):
    if os.environ.get("GAP"):
        table = decoding_counts(data.splits, data.num_items, split_name, skip_weight)["transition_counts"]
    else:
        table = (direct + skip_weight * skips).coalesce()
    model.set_item_transitions(table)
    ranked = model.recommend(split["history"], 10, exclude_history=True)
    metrics = {**ranking_metrics(ranked, targets, ks=(1, 10)), **cold_target_metrics(ranked, targets, counts, ks=(10,))}
    print(json.dumps({"model": str(model_dir), "split": split_name, "skip": skip_weight, "gap": os.environ.get("GAP"),
                      "transition_adjustment": model.config.transition_adjustment,
                      **{name: round(float(value), 4) for name, value in metrics.items()}}), flush=True)
