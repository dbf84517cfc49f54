"""Throw-away helper of the decoding probes (hr1/option_probe.py, cooccurrence/probe.py): what every one of them loads
first. Import it after ``sys.path.insert(0, <docs/experiments>)``."""

import os
import pathlib

import numpy as np
import torch

from mindrec.baselines.popularity import interaction_counts
from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.evaluation.model_evaluation import evaluate_recommender, mindrec_recommender
from mindrec.training.model_io import load_trained_model


def probe_inputs(checkpoint: str):
    """``(data, training interaction counts, trained model)`` of a benchmark checkpoint: the data of the protocol
    named by PROTOCOL (beauty-full by default), torch on THREADS threads (1 by default)."""
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
    data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[2]))
    return data, interaction_counts(data.splits["train"], data.num_items), load_trained_model(checkpoint, device="cpu")


def decode_split(trained, generation_config, data, split_name: str, counts):
    """Evaluate ``trained`` with ``generation_config`` on a split: HR/NDCG at 1 and 10, cold-target metrics."""
    return evaluate_recommender(
        mindrec_recommender(trained.model, trained.tokenizer, generation_config),
        data.splits[split_name],
        data.num_items,
        ks=(1, 10),
        batch_size=500,
        show_progress=False,
        item_counts=counts,
    )


def save_target_ranks(result, path: str) -> None:
    """Each user's 0-based target rank in ``result``'s lists (99 = not listed) to ``path`` (.npy)."""
    lists, targets = np.asarray(result.item_lists), np.asarray(result.targets)
    hits = lists == targets[:, None]
    np.save(path, np.where(hits.any(1), hits.argmax(1), 99))
