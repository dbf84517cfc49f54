"""Throw-away: decode a trained MindRec checkpoint with the fused decoder at several settings of its decoding
options (each spec is comma-separated ``name=value`` pairs over the checkpoint's generation config); one JSON
line each, with the per-user ranks of the target saved when RANKS_OUT is set (a .npy per spec, 99 = not listed).

    python docs/experiments/hr1/option_probe.py CHECKPOINT SPLIT SPEC [SPEC ...]

COND_POWER=p scales each transition count c(h -> i) by (mean out-count / out-count(h)) ** p.
PROTOCOL=beauty-mindrec reads that protocol's data instead of beauty-full's; THREADS sets torch's threads.
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.baselines import decoding_counts
from mindrec.baselines.popularity import transition_counts
from mindrec.training.model_setup import install_item_counts

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import decode_split, probe_inputs, save_target_ranks  # noqa: E402

checkpoint, split_name = sys.argv[1], sys.argv[2]
data, counts, trained = probe_inputs(checkpoint)
transitions = transition_counts(data.splits["train"], data.num_items).coalesce()
if split_name == "test":  # the counts as of the test targets, as the benchmark decodes test
    test_counts = decoding_counts(data.splits, data.num_items, "test")
    install_item_counts(trained.model, **test_counts)
    transitions = test_counts["transition_counts"].coalesce()
if os.environ.get("PMI_SCALE"):
    # c(h -> i) * m / (1 + count(i)): log(1 + that) is the log-ratio of a smoothed bigram P(i | h) to P(i), up to a
    # per-user constant (m = PMI_SCALE x the mean item count).
    scale = float(os.environ["PMI_SCALE"]) * counts.float().mean()
    values = transitions.values().float() * scale / (1 + counts.float()[transitions.indices()[1]])
    transitions = torch.sparse_coo_tensor(transitions.indices(), values, transitions.shape).coalesce()
if os.environ.get("COND_POWER"):
    # c(h -> i) * (mean out-count / out-count(h)) ** COND_POWER: from the raw count (0) towards the bigram's
    # conditional P(i | h) (1), scaled so that an item with the mean number of successors keeps its counts.
    out = torch.zeros(data.num_items).index_add_(0, transitions.indices()[0], transitions.values().float())
    ratio = (out[out > 0].mean() / out[transitions.indices()[0]]) ** float(os.environ["COND_POWER"])
    transitions = torch.sparse_coo_tensor(transitions.indices(), transitions.values().float() * ratio, transitions.shape)
    transitions = transitions.coalesce()
trained.model.set_item_transitions(transitions)
if os.environ.get("PMI_MIX"):
    # log(1 + c) plus PMI_MIX x log(1 + c * mean count / (1 + count(i))): the raw credit with a share of the PMI form.
    model, mix = trained.model, float(os.environ["PMI_MIX"])
    counts_after = counts.float()[model.item_transition_items]
    raw = torch.expm1(model.item_transition_log_counts)
    model.item_transition_log_counts += mix * torch.log1p(raw * counts.float().mean() / (1 + counts_after))
base = trained.generation_config.to_dict()
for index, spec in enumerate(sys.argv[3:]):
    options = {name: float(value) for name, value in (pair.split("=") for pair in spec.split(",") if pair)}
    config = type(trained.generation_config)(
        **{
            **{k: v for k, v in base.items() if not k.startswith("_") and k != "transformers_version"},
            **options,
        }
    )
    result = decode_split(trained, config, data, split_name, counts)
    if os.environ.get("RANKS_OUT"):
        save_target_ranks(result, f"{os.environ['RANKS_OUT']}-{index}.npy")
    print(
        json.dumps(
            {
                "checkpoint": checkpoint,
                "split": split_name,
                "spec": spec,
                "pmi_scale": os.environ.get("PMI_SCALE"), "pmi_mix": os.environ.get("PMI_MIX"),
                "cond_power": os.environ.get("COND_POWER"),
                **{name: round(value, 4) for name, value in result.metrics.items()},
            }
        ),
        flush=True,
    )
