"""Throw-away: decode a beauty-full MindRec checkpoint fused, with the head's logits adjusted by
- beta * log(1 + total train count) + gamma * log(1 + count among each user's newest k train items).
Usage: trend_probe.py CKPT SPLIT beta:gamma:k ..."""
import json
import pathlib
import sys

import numpy as np
import torch

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
ckpt, split = sys.argv[1], sys.argv[2]
protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
total = interaction_counts(data.splits["train"], data.num_items).float()
hists = [list(h) for h in data.splits["validation"]["history"]]  # every user's train items, newest last
trained = load_trained_model(ckpt, device="cpu")
for spec in sys.argv[3:]:
    beta, gamma, k = spec.split(":")
    beta, gamma, k = float(beta), float(gamma), int(k)
    recent = np.zeros(data.num_items)
    for h in hists:
        np.add.at(recent, h[-k:], 1)
    adjust = beta * torch.log1p(total) - gamma * torch.log1p(torch.from_numpy(recent).float())
    trained.model.item_log_counts.copy_(adjust)
    config = trained.generation_config
    config.update(retrieval_weight=100.0, popularity_adjustment=1.0)
    result = evaluate_recommender(mindrec_recommender(trained.model, trained.tokenizer, config), data.splits[split],
                                  data.num_items, ks=(1, 10), batch_size=500, show_progress=False,
                                  item_counts=interaction_counts(data.splits["train"], data.num_items))
    m = result.metrics
    print(json.dumps({"spec": spec, "split": split, **{n: round(m[n], 4) for n in ("ndcg@10", "hr@1", "hr@10", "cold_ndcg@10")}}), flush=True)
