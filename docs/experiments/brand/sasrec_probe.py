"""Throw-away: the brand credit of ``probe.py`` on the baseline. Loads a SASRec saved by
``decoding-grid/sasrec_lambda.py`` (the beauty-full plan), ranks a split as the benchmark ranks test (transitions as
of the split's targets, the plan's lambda and gap decay) with ``A * [the item's brand is in the history] /
log(2 + the brand's catalogue size)`` added to its logits (``MODE=decayed``: the sum over history items of that
brand of 0.5**k instead of the indicator). One JSON line per A.

    python docs/experiments/brand/sasrec_probe.py MODEL_DIR SPLIT A [A ...]
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines import decoding_counts
from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import load_saved_sasrec  # noqa: E402

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
model_dir, split_name, weights = pathlib.Path(sys.argv[1]), sys.argv[2], [float(v) for v in sys.argv[3:]]
mode = os.environ.get("MODE", "any")
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
model = load_saved_sasrec(model_dir, data, plan, counts)
model.set_item_transitions(
    decoding_counts(data.splits, data.num_items, split_name, model.config.transition_gap_decay)["transition_counts"]
)

brands = [b.strip().lower() for b in data.items["brand"]]
lookup = {b: k for k, b in enumerate(sorted({b for b in brands if b}))}
brand_id = torch.as_tensor([lookup.get(b, -1) for b in brands])
size = torch.bincount(brand_id[brand_id >= 0], minlength=len(lookup))
norm = torch.where(brand_id >= 0, 1 / torch.log(2 + size[brand_id.clamp(min=0)].float()), 0.0)


def brand_credit(histories):
    """``[B, I]``: the brand feature of every item for each history."""
    table = torch.zeros(len(histories), len(lookup) + 1)
    for row, history in enumerate(histories):
        for k, item in enumerate(reversed(history)):
            b = int(brand_id[item])
            if b >= 0:
                table[row, b] += 0.5**k if mode == "decayed" else 0.0
                if mode != "decayed":
                    table[row, b] = 1.0
    return table[:, brand_id.clamp(min=0)] * norm


original = model.item_scores
for a in weights:
    def scored(histories, first_row=0, a=a):
        return original(histories, first_row) + a * brand_credit(histories).to(torch.float32)

    model.item_scores = scored
    result = evaluate_recommender(
        lambda histories: model.recommend(histories, 10, exclude_history=True),
        data.splits[split_name], data.num_items, ks=(1, 10), batch_size=1024, show_progress=False, item_counts=counts,
    )
    print(json.dumps({"model": str(model_dir), "split": split_name, "mode": mode, "a": a,
                      **{n: round(v, 4) for n, v in result.metrics.items() if n in ("hr@1", "hr@10", "ndcg@10")}}),
          flush=True)
