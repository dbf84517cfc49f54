"""Throwaway: the fused decoder with the head's logits minus beta * log(1 + training count) (logit adjustment)."""
import pathlib
import sys

import numpy as np
import torch

from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.modeling.modeling_mindrec import MindRecForRecommendation
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path("/work/main")))
splits = data.splits
last = {}
for u, h, t in zip(splits["train"]["user_id"], splits["train"]["history"], splits["train"]["target"], strict=False):
    last[u] = list(h) + [t]
counts = np.zeros(data.num_items)
for seq in last.values():
    for i in seq:
        counts[i] += 1
logpop = torch.tensor(np.log1p(counts), dtype=torch.float32)
original = MindRecForRecommendation._retrieval_logits
beta = 0.0
def patched(self, states, item_vectors=None):
    return original(self, states, item_vectors) - beta * logpop
MindRecForRecommendation._retrieval_logits = patched
trained = load_trained_model(sys.argv[1], device="cpu")
rec = mindrec_recommender(trained.model, trained.tokenizer, trained.generation_config)
for b in [float(x) for x in sys.argv[2].split(",")]:
    beta = b
    line = [f"beta {b}"]
    for split in sys.argv[3].split(","):
        r = evaluate_recommender(rec, splits[split], data.num_items, ks=(1, 10), batch_size=500, show_progress=False)
        line.append(f"{split} ndcg@10 {r.metrics['ndcg@10']:.4f} hr@1 {r.metrics['hr@1']:.4f} hr@10 {r.metrics['hr@10']:.4f}")
    print(" | ".join(line), flush=True)
