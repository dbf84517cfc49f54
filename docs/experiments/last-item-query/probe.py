"""Throw-away: the fused decoder's retrieval head read from a mix of two queries, the fully masked canvas's (as
shipped) and the last history item's prompt state (trained on the same target by the history retrieval loss,
SASRec's query): logits = (1 - a) * canvas + a * last-item, before the adjustments. One JSON line per a.

    python docs/experiments/last-item-query/probe.py CHECKPOINT SPLIT A [A ...]
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines.popularity import interaction_counts, transition_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.modeling import canvas_scoring
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
checkpoint, split_name = sys.argv[1], sys.argv[2]
mixes = [float(value) for value in sys.argv[3:]]
protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
trained = load_trained_model(checkpoint, device="cpu")
model = trained.model
model.set_item_transitions(transition_counts(data.splits["train"], data.num_items))
config = trained.generation_config
MIX = {"a": 0.0}

Scorer = canvas_scoring.MindRecCanvasScorer
original_init, original_logits = Scorer.__init__, type(model).item_retrieval_logits


def init(self, model, input_ids, attention_mask=None, history_code_ids=None, **kwargs):
    original_init(self, model, input_ids, attention_mask, history_code_ids, **kwargs)
    with torch.no_grad():
        embeds = model.model.embed_inputs(input_ids, history_code_ids)
        hidden = model.model(inputs_embeds=embeds, attention_mask=self.attention_mask).last_hidden_state
        is_item = input_ids == model.config.item_placeholder_token_id
        last = (is_item.long() * torch.arange(input_ids.shape[1])).argmax(-1)  # [B]
        self.last_item_states = hidden[torch.arange(input_ids.shape[0]), last]  # [B, d]
    self.current_users = None


def item_log_probs(self, user_ids):
    self.model._probe_last = self.last_item_states[user_ids]
    try:
        return original_item_log_probs(self, user_ids)
    finally:
        self.model._probe_last = None


def item_retrieval_logits(self, canvas_hidden, item_vectors=None):
    logits = original_logits(self, canvas_hidden, item_vectors)
    last = getattr(self, "_probe_last", None)
    if last is not None and MIX["a"]:
        logits = (1 - MIX["a"]) * logits + MIX["a"] * self._retrieval_logits(last, item_vectors)
    return logits


original_item_log_probs = Scorer.item_log_probs
Scorer.__init__, Scorer.item_log_probs = init, item_log_probs
type(model).item_retrieval_logits = item_retrieval_logits
for a in mixes:
    MIX["a"] = a
    result = evaluate_recommender(mindrec_recommender(model, trained.tokenizer, config), data.splits[split_name],
                                  data.num_items, ks=(1, 10), batch_size=500, show_progress=False, item_counts=counts)
    print(json.dumps({"checkpoint": checkpoint, "split": split_name, "mix": a,
                      "lambda": config.transition_adjustment, "beta": config.popularity_adjustment,
                      **{name: round(value, 4) for name, value in result.metrics.items()}}), flush=True)
