"""Throw-away: the saved seed-0 beauty-full SASRec (sasrec_probe.py of the eleventh session, MODEL_PT) ranked on
validation with its plan's options (popularity prior, transition credit, gap decay); saves each user's target rank.

    python docs/experiments/hr1/sasrec_ranks.py MODEL_PT OUT_NPY
"""

import json
import pathlib
import sys

import numpy as np
import torch

from mindrec.baselines.popularity import decoding_counts, interaction_counts
from mindrec.baselines.sasrec import SASRecConfig, SASRecModel
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics

torch.set_num_threads(1)
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
config = SASRecConfig(**{**plan.model, "num_items": data.num_items})
print(config.transition_adjustment, config.transition_decay, getattr(config, "popularity_prior", None))
model = SASRecModel(config)
model.load_state_dict(torch.load(sys.argv[1]), strict=False)
model.set_item_counts(counts)
# Counted as the plan counts them (its transition_gap_decay since the fourteenth session).
table = decoding_counts(data.splits, data.num_items, "validation", config.transition_gap_decay)["transition_counts"]
model.set_item_transitions(table)
model.eval()
split = data.splits["validation"]
ranked = model.recommend(split["history"], 10, exclude_history=True)
targets = torch.tensor(split["target"])
print(json.dumps({k: round(float(v), 4) for k, v in ranking_metrics(ranked, targets, ks=(1, 10)).items()}))
hits = (ranked == targets[:, None]).numpy()
np.save(sys.argv[2], np.where(hits.any(1), hits.argmax(1), 99))
