"""Throw-away: does MindRec's generative head help the fused decoder on cold items, if it weighs more there?

The fused row scores an item ``G(i) + 100 * R(i)``: G the generative one-pass log-prob of its code, R the retrieval
head's log-softmax with the decoding credits. At weight 1/100 G only breaks ties, and a uniformly larger weight
hurts (retrieval weight 3 / 1: validation NDCG@10 -5% / -20%). SASRec leads on cold targets; MindRec's codes,
which describe an item by its category and content, are what could rank a cold item that its ID part has not
learnt. This probe adds ``K * w(i) * (G(i) - mean_j G(j))`` to the score (the user's generative log-prob of the item,
centred over the catalogue, so that a larger weight lifts the items the generative head likes better than average
and lowers the others), with ``w(i) = [count(i) < COLD]`` (MODE=step) or ``1 / (1 + count(i)) ** POWER`` (MODE=smooth; POWER 1 by default),
count = the item's training interactions; every other option the checkpoint's (transition counts with its gap
decay). (MODE=raw multiplies G itself by ``1 + K * [count(i) < COLD]``: since G < 0 that lowers every cold item, the
first reading, logs/raw-s0.jsonl.) One JSON line per K.

    python docs/experiments/cold-generative/probe.py CHECKPOINT SPLIT K [K ...]
"""

import json
import os
import pathlib
import sys

import torch

import mindrec.modeling.decoding_catalogue_scoring as scoring
from mindrec.baselines import decoding_counts
from mindrec.training.model_setup import install_item_counts

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import decode_split, probe_inputs, save_target_ranks  # noqa: E402

checkpoint, split_name = sys.argv[1], sys.argv[2]
data, counts, trained = probe_inputs(checkpoint)
gap = trained.generation_config.transition_gap_decay
install_item_counts(trained.model, **decoding_counts(data.splits, data.num_items, split_name, gap))
mode, cold = os.environ.get("MODE", "step"), int(os.environ.get("COLD", "10"))
original = scoring.catalogue_log_probs
weights = torch.ones(data.num_items)


def weighted(log_probs, item_codes):
    # The decoder scores the whole catalogue in one chunk here (500 users x 12,101 items < its chunk size).
    assert item_codes.shape[0] == data.num_items, "the probe needs one chunk over the whole catalogue"
    scores = original(log_probs, item_codes)  # [B, I]
    if mode == "raw":
        return scores * (1 + weights)
    return scores + weights * (scores - scores.mean(dim=1, keepdim=True))


scoring.catalogue_log_probs = weighted
for k in (float(value) for value in sys.argv[3:]):
    if mode == "smooth":  # POWER=a: k / (1 + n) ** a (1 by default)
        weights = k / (1 + counts.float()) ** float(os.environ.get("POWER", "1"))
    else:
        weights = k * (counts < cold).float()
    result = decode_split(trained, trained.generation_config, data, split_name, counts)
    if os.environ.get("RANKS_OUT"):
        save_target_ranks(result, f"{os.environ['RANKS_OUT']}-{mode}-{k}.npy")
    print(
        json.dumps(
            {"checkpoint": checkpoint, "split": split_name, "mode": mode, "cold": cold, "k": k,
             "power": float(os.environ.get("POWER", "1")),
             **{name: round(value, 4) for name, value in result.metrics.items()}}
        ),
        flush=True,
    )
