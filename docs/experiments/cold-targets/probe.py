"""Throw-away: decode one trained beauty-full MindRec checkpoint on a split several ways, read overall and by
target popularity (training interaction count). One JSON line per setting.

    python probe.py CHECKPOINT SPLIT MODE VALUE [VALUE ...]

MODE and its VALUEs:
* decompose: fused | head | head-codes | head-ids -- the fused decoder (generative + 100 x head), the head alone
  (a weight so large the generative score only breaks exact ties), the head scoring only the code-token part or
  only the learned ID part of each catalogue vector;
* shrink-catalogue / shrink-everywhere: k -- each item's learned ID part times count / (count + k), in the
  catalogue vectors only or wherever it is used (the history too);
* mix: alpha -- the head's log-probs plus alpha times those of the code-only head;
* beta: beta -- the package's decoding option popularity_adjustment (the head's logits minus
  beta * log(1 + count)). Checkpoints saved before it existed get the counts installed from the train split.
"""
import json
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation import metrics_by_target_popularity
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.modeling.modeling_mindrec import MindRecForRecommendation, MindRecModel
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
checkpoint, split_name, mode, values = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
protocol = PROTOCOLS["beauty-full"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path("/work/main")))
counts = interaction_counts(data.splits["train"], data.num_items)
trained = load_trained_model(checkpoint, device="cpu")
if bool(torch.isnan(trained.model.item_log_counts).any()):
    trained.model.set_item_counts(counts)
catalogue, learned, head_logits = (MindRecModel.catalogue_item_vectors, MindRecModel.learned_item_vectors,
                                   MindRecForRecommendation._retrieval_logits)
setting = {"value": None}


def id_weight(item_indices=None):
    weight = counts.float() / (counts.float() + float(setting["value"]))
    return (weight if item_indices is None else weight[item_indices]).unsqueeze(-1)


def probed_catalogue(self):
    if mode == "shrink-catalogue":
        return catalogue(self) - learned(self) + learned(self) * id_weight()
    if mode == "decompose" and setting["value"] == "head-codes":
        return catalogue(self) - self.learned_item_vectors()
    if mode == "decompose" and setting["value"] == "head-ids":
        return self.learned_item_vectors()
    return catalogue(self)


def probed_learned(self, item_indices=None):
    vectors = learned(self, item_indices)
    return vectors * id_weight(item_indices) if mode == "shrink-everywhere" else vectors


def probed_head(self, states, item_vectors=None):
    if mode != "mix":
        return head_logits(self, states, item_vectors)
    vectors = self.model.catalogue_item_vectors() if item_vectors is None else item_vectors
    full = torch.log_softmax(head_logits(self, states, vectors), -1)
    codes = torch.log_softmax(head_logits(self, states, vectors - self.model.learned_item_vectors()), -1)
    return full + float(setting["value"]) * codes


MindRecModel.catalogue_item_vectors = probed_catalogue
MindRecModel.learned_item_vectors = probed_learned
MindRecForRecommendation._retrieval_logits = probed_head
for value in values:
    setting["value"] = value
    config = trained.generation_config
    head_only = mode == "decompose" and value != "fused"
    config.update(retrieval_weight=1e6 if head_only else 100.0,
                  popularity_adjustment=float(value) if mode == "beta" else 0.0)
    result = evaluate_recommender(mindrec_recommender(trained.model, trained.tokenizer, config),
                                  data.splits[split_name], data.num_items, ks=(1, 10), batch_size=500,
                                  show_progress=False, item_counts=counts)
    buckets = metrics_by_target_popularity(result.item_lists, result.targets, counts, ks=(10,))
    line = {"mode": mode, "value": value, "split": split_name, **{n: round(v, 4) for n, v in result.metrics.items()},
            "ndcg@10_by_count": {label: round(row.get("ndcg@10", float("nan")), 4) for label, row in buckets.items()}}
    print(json.dumps(line), flush=True)
