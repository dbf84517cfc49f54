"""Throw-away: refit a trained MindRec checkpoint's retrieval head on frozen canvas states.

The backbone stays as trained; every training row's fully masked canvas state (mean over the canvas, the head's
input) is computed once, then the head's projection and an untied copy of the catalogue item vectors train for
more epochs with the head's full-softmax cross-entropy (popularity prior kept). After every epoch the fused decoder
is run on all validation users with the refit head patched in; one JSON line each.

    python docs/experiments/head-refit/probe.py CHECKPOINT [LR] [EPOCHS] [WEIGHT_DECAY]

PROTOCOL=beauty-mindrec reads that protocol's data; THREADS sets torch's threads; FREEZE_PROJ=1 keeps the
projection; LAST_ITEM=1 (LAST_LR: its learning rate) adds a learned vector of the user's last history item to the query (a factorised bigram,
zero at the start); STATES=path caches the training rows' states; SPLIT=test decodes test with its counts (after the validation line of each epoch) when set.
"""

import json
import os
import pathlib
import sys
import time

import torch

from mindrec.baselines import decoding_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.training.model_io import load_trained_model
from mindrec.training.model_setup import install_item_counts

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
torch.manual_seed(0)
checkpoint = sys.argv[1]
lr = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-3
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 6
weight_decay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
trained = load_trained_model(checkpoint, device="cpu")
model, tokenizer = trained.model.eval(), trained.tokenizer
install_item_counts(model, **decoding_counts(data.splits, data.num_items, "validation"))


@torch.no_grad()
def canvas_states(split, batch_size=1000):
    """``[rows, hidden]`` mean fully masked canvas state of every row of ``split``, in order."""
    states = []
    histories = [list(h) for h in split["history"]]
    for start in range(0, len(histories), batch_size):
        inputs = tokenizer(histories[start : start + batch_size], items="indices", return_tensors="pt")
        scorer = model.build_canvas_scorer(**inputs, history_cache="exact")
        rows = inputs["input_ids"].shape[0]
        canvas = torch.full((rows, model.config.code_length), -1, dtype=torch.long)
        states.append(scorer.canvas_hidden(canvas, torch.arange(rows)).mean(-2))
    return torch.cat(states)


started = time.time()
train = data.splits["train"]
cache = os.environ.get("STATES")
if cache and os.path.exists(cache):
    states = torch.load(cache)
else:
    states = canvas_states(train)
    if cache:
        torch.save(states, cache)
last_items = torch.tensor([h[-1] for h in train["history"]])
targets = torch.tensor(train["target"])
print(json.dumps({"states": list(states.shape), "seconds": round(time.time() - started)}), flush=True)

with torch.no_grad():
    item_vectors = torch.nn.Parameter(model.model.catalogue_item_vectors().detach().clone())
projection = model.retrieval_proj
projection.weight.requires_grad_(not os.environ.get("FREEZE_PROJ"))
log_counts = model.item_log_counts.detach() * model.config.retrieval_popularity_prior
model.model.catalogue_item_vectors = lambda: item_vectors  # the head reads the refit copy; the history does not
last_item_vectors = torch.nn.Parameter(torch.zeros(data.num_items, item_vectors.shape[1]))
use_last = bool(os.environ.get("LAST_ITEM"))
if use_last:
    original_logits = model.item_retrieval_logits

    def item_retrieval_logits(canvas_hidden, item_vectors=None, history_items=None, next_items=None):
        logits = original_logits(canvas_hidden, item_vectors, history_items, next_items)
        valid = history_items >= 0
        position = (valid * torch.arange(history_items.shape[1])).argmax(-1)
        last = history_items.gather(1, position[:, None])[:, 0]
        return logits + last_item_vectors[last] @ model.model.catalogue_item_vectors().T

    model.item_retrieval_logits = item_retrieval_logits
params = ([last_item_vectors] if use_last else []) + [item_vectors] + ([projection.weight] if not os.environ.get("FREEZE_PROJ") else [])
optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
if use_last and os.environ.get("LAST_LR"):  # the bigram's rows see few updates each: their own learning rate
    optimizer = torch.optim.AdamW(
        [{"params": params[:1], "lr": float(os.environ["LAST_LR"])}, {"params": params[1:]}],
        lr=lr, weight_decay=weight_decay,
    )


def evaluate(split_name, epoch):
    if split_name == "test":
        install_item_counts(model, **decoding_counts(data.splits, data.num_items, "test"))
    config = trained.generation_config
    with torch.no_grad():
        result = evaluate_recommender(
            mindrec_recommender(model, tokenizer, config), data.splits[split_name], data.num_items,
            ks=(1, 10), batch_size=500, show_progress=False,
        )
    if split_name == "test":
        install_item_counts(model, **decoding_counts(data.splits, data.num_items, "validation"))
    print(json.dumps({"checkpoint": checkpoint, "lr": lr, "wd": weight_decay, "epoch": epoch, "split": split_name,
                      "freeze_proj": bool(os.environ.get("FREEZE_PROJ")), "last_item": use_last,
                      **{k: round(v, 4) for k, v in result.metrics.items()}}), flush=True)


evaluate("validation", 0)
batch = 1024
for epoch in range(1, epochs + 1):
    order = torch.randperm(len(targets))
    total = 0.0
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        query = projection(states[rows]) + (last_item_vectors[last_items[rows]] if use_last else 0)
        logits = query @ item_vectors.T + log_counts
        loss = torch.nn.functional.cross_entropy(logits, targets[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(rows)
    print(json.dumps({"epoch": epoch, "train_loss": round(total / len(order), 4)}), flush=True)
    evaluate("validation", epoch)
    if os.environ.get("SPLIT") == "test":
        evaluate("test", epoch)
