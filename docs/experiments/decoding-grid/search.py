"""Throw-away: ``decoding_grid`` run on a benchmark checkpoint, as the main job runs it after training.

The checkpoint folder is copied first (the search saves its choice into the folder it searches), then
:func:`mindrec.training.decoding_search.choose_decoding_on_validation` searches the given entries on the protocol's
validation users that select checkpoints (all users on beauty-full and beauty-mindrec), by NDCG@10. One JSON line.

    PROTOCOL=beauty-full python docs/experiments/decoding-grid/search.py CHECKPOINT COPY NAME=V1,V2 [NAME=V1,V2 ...]

``DATA=<folder>`` reads another dataset with the protocol (as ``scripts/benchmark.py --data``).
"""

import json
import os
import pathlib
import shutil
import sys
import time

import torch

from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.cli import DECODING_OPTIONS
from mindrec.training.arguments import EvaluationArguments
from mindrec.training.decoding_search import choose_decoding_on_validation
from mindrec.training.model_io import load_trained_model
from mindrec.training.trainer import make_accelerator

checkpoint, copy, grid = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
torch.set_num_threads(int(os.environ.get("THREADS", "1")))
protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, os.environ.get("DATA"), pathlib.Path(__file__).parents[3]))
shutil.copytree(checkpoint, copy)
saved = load_trained_model(copy).generation_config.to_dict()
seed = json.loads((copy / "mindrec_run.json").read_text())["training"]["seed"]
# The checkpoint's decoding options (its generation config), on all validation users as the protocols select.
eval_args = EvaluationArguments(
    **{option: saved[key] for key, option in DECODING_OPTIONS.items()},
    eval_ks=[1, 10], selection_metric="ndcg@10", validation_max_users=None, eval_batch_size=500, decoding_grid=grid,
)
started = time.perf_counter()
chosen, trials = choose_decoding_on_validation(copy, data, eval_args, make_accelerator("no"), seed=seed, show_progress=False)
print(json.dumps({"checkpoint": str(checkpoint), "protocol": protocol.name, "grid": grid,
                  "validation_max_users": eval_args.validation_max_users, "seconds": round(time.perf_counter() - started, 1),
                  "chosen": {name.split("=")[0]: getattr(chosen, name.split("=")[0]) for name in grid},
                  "trials": [{**t, "metric": round(t["metric"], 4)} if "metric" in t else t for t in trials]}), flush=True)
