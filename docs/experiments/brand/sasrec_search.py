"""Throw-away: the benchmark's SASRec decoding search (``choose_sasrec_decoding_on_validation``, the protocol's grid) run
on a SASRec saved by ``decoding-grid/sasrec_lambda.py`` (the beauty-full plan), then test read with the choice, with the
plan's constants without the brand credit, and with the choice's brand and transition credits without beta and gamma.
Transitions and newest-item counts as of each split's targets, as the benchmark counts them. One JSON line. (Until the
twentieth session the grid held the brand and transition credits alone, and the line had no ``test_without_beta_gamma``:
the seventeenth and eighteenth sessions' logs.)

    python docs/experiments/brand/sasrec_search.py MODEL_DIR
"""

import json
import pathlib
import sys
import time

import torch

from mindrec.baselines.popularity import interaction_counts
from mindrec.baselines.sasrec_decoding_search import (
    SASREC_SEARCHABLE_OPTIONS,
    choose_sasrec_decoding_on_validation,
)
from mindrec.benchmark.protocols import (
    BRAND_ADJUSTMENT,
    PROTOCOLS,
    SASREC_DECODING_GRID,
    SASREC_TRANSITION_ADJUSTMENT,
)
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.data import item_brand_ids
from mindrec.evaluation.model_evaluation import evaluate_recommender
from mindrec.training.arguments import parse_decoding_grid

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))
from probe_setup import install_sasrec_split_counts, load_saved_sasrec  # noqa: E402

torch.set_num_threads(1)
model_dir = pathlib.Path(sys.argv[1])
protocol = PROTOCOLS["beauty-full"]
plan = protocol.plans["sasrec"]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
counts = interaction_counts(data.splits["train"], data.num_items)
model = load_saved_sasrec(model_dir, data, plan, counts, brands=item_brand_ids(data.items))


def read(split_name, **options):
    for name, value in options.items():
        setattr(model.config, name, value)
    result = evaluate_recommender(
        lambda histories: model.recommend(histories, 10, exclude_history=True), data.splits[split_name], data.num_items,
        ks=(1, 10), batch_size=1024, show_progress=False, item_counts=counts,
    )
    return {n: round(v, 4) for n, v in result.metrics.items() if n in ("hr@1", "hr@10", "ndcg@10")}


install_sasrec_split_counts(model, data, "validation")
assert model.config.brand_adjustment == BRAND_ADJUSTMENT
started = time.perf_counter()
chosen, trials = choose_sasrec_decoding_on_validation(
    model, data.splits["validation"], parse_decoding_grid(list(SASREC_DECODING_GRID), SASREC_SEARCHABLE_OPTIONS), True
)
seconds = time.perf_counter() - started
install_sasrec_split_counts(model, data, "test")
before = {name: chosen[name] for name in ("brand_adjustment", "transition_adjustment")}  # searched before beta, gamma
print(json.dumps({
    "model": str(model_dir), "grid": list(SASREC_DECODING_GRID), "seconds": round(seconds, 1), "chosen": chosen,
    "trials": [{**t, "metric": round(t["metric"], 4)} for t in trials],
    "test_chosen": read("test", **chosen),
    "test_without_beta_gamma": read("test", **before, popularity_adjustment=0.0, recency_adjustment=0.0),
    "test_plan_without_brand": read("test", brand_adjustment=0.0, transition_adjustment=SASREC_TRANSITION_ADJUSTMENT,
                                    popularity_adjustment=0.0, recency_adjustment=0.0),
}), flush=True)
