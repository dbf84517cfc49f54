"""Throw-away: how much do the decoding priors lose when their counts are one interaction stale? At test, the fused
row's recency counts (items as users' newest interaction) and both models' transition counts are the training split's,
while each user's newest observed interaction is by then the validation target: one step stale. This replays that on
validation: "fresh" = the counts as shipped (every training row), "stale" = without each user's last training row
(the transitions lose that pair, the recency counts read each user's previous interaction).

    python docs/experiments/count-freshness/probe.py mindrec CHECKPOINT [test]
    python docs/experiments/count-freshness/probe.py sasrec MODEL_PT [test]

With ``test`` (after the validation reading): ranks the test split with the counts as the benchmark installs them
("train": as of the training split, one step stale there) and as of the validation split ("train+validation": the
recency counts read each test row's newest history item, the transitions add each validation row's pair).

PROTOCOL=beauty-mindrec reads that protocol's data (and its SASRec plan) instead of beauty-full's.
"""

import json
import os
import pathlib
import sys

import numpy as np
import torch

from mindrec.baselines.popularity import interaction_counts, latest_interaction_counts, transition_counts
from mindrec.baselines.sasrec import SASRecConfig, SASRecModel
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.metrics import ranking_metrics
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.training.model_io import load_trained_model

torch.set_num_threads(1)
kind, path = sys.argv[1], sys.argv[2]
protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
train, validation = data.splits["train"], data.splits["validation"]
counts = interaction_counts(train, data.num_items)
users = np.asarray(train["user_id"])
last_row = np.append(users[1:] != users[:-1], True)  # rows are grouped by user, prefixes in order
stale_train = train.select(np.flatnonzero(~last_row))
settings = {
    "fresh": (
        latest_interaction_counts(validation, data.num_items),
        transition_counts(train, data.num_items),
    ),
    "stale": (
        latest_interaction_counts(train.select(np.flatnonzero(last_row)), data.num_items),
        transition_counts(stale_train, data.num_items),
    ),
}
evaluated = validation
if sys.argv[3:] == ["test"]:
    evaluated = data.splits["test"]
    observed = transition_counts(train, data.num_items) + transition_counts(validation, data.num_items)
    settings = {
        "train": settings["fresh"],
        "train+validation": (latest_interaction_counts(evaluated, data.num_items), observed.coalesce()),
    }
targets = torch.tensor(evaluated["target"])
for name, (recent, transitions) in settings.items():
    if kind == "mindrec":
        trained = load_trained_model(path, device="cpu")
        trained.model.set_item_counts(counts, recent)
        trained.model.set_item_transitions(transitions)
        result = evaluate_recommender(
            mindrec_recommender(trained.model, trained.tokenizer, trained.generation_config),
            evaluated,
            data.num_items,
            ks=(1, 10),
            batch_size=500,
            show_progress=False,
        )
        metrics = result.metrics
    else:
        config = SASRecConfig(**{**protocol.plans["sasrec"].model, "num_items": data.num_items})
        model = SASRecModel(config)
        model.load_state_dict(torch.load(path), strict=False)
        model.set_item_counts(counts)
        model.set_item_transitions(transitions)
        model.eval()
        metrics = ranking_metrics(
            model.recommend(evaluated["history"], 10, exclude_history=True), targets, ks=(1, 10)
        )
    print(
        json.dumps(
            {
                "model": kind,
                "split": "test" if evaluated is not validation else "validation",
                "counts": name,
                **{k: round(float(v), 4) for k, v in metrics.items() if k in ("hr@1", "hr@10", "ndcg@10")},
            }
        ),
        flush=True,
    )
