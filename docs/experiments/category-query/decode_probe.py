#!/usr/bin/env python
"""Probe (not a package feature): the fused decoder's top candidates re-ranked with the retrieval head read at the
canvas whose category slots hold each candidate's category path (a model trained by ``run.py``).

For user u and candidate i of category path c = c(i), the fused score S(u, i) (as the checkpoint decodes) becomes

    S + w * a * [log p_c(i | c) - log q(i | c)]

w the retrieval weight, q the head's (adjusted) distribution at the fully masked canvas, p_c the same head and the
same adjustments read at the canvas with c filled in, each renormalised over the items of path c. a = 1 replaces the
fully masked head's ranking inside each path with the conditioned one (p(path) still from the masked canvas); a = 0
is the checkpoint's ranking. MODE=raw uses S + w * a * log p_c(i) instead (no renormalisation, no subtraction).
The top N_CAND (default 20) fused candidates are re-ranked; metrics are exact-item as the benchmark's. One JSON line
per a.

    python docs/experiments/category-query/decode_probe.py CHECKPOINT SPLIT A [A ...]
"""

import json
import os
import pathlib
import sys

import torch

from mindrec.benchmark.protocols import PROTOCOLS
from mindrec.benchmark.runner import load_protocol_data, resolve_data_path
from mindrec.cli import DECODING_OPTIONS
from mindrec.modeling import generation_mindrec
from mindrec.modeling.decoding_utils import Hypotheses
from mindrec.pipeline import evaluate_mindrec
from mindrec.training.arguments import EvaluationArguments
from mindrec.training.model_io import load_trained_model
from mindrec.training.trainer import make_accelerator

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
checkpoint, split_name, alphas = sys.argv[1], sys.argv[2], [float(a) for a in sys.argv[3:]]
N_CAND = int(os.environ.get("N_CAND", "20"))
MODE = os.environ.get("MODE", "renorm")
MAX_USERS = int(os.environ["MAX_USERS"]) if os.environ.get("MAX_USERS") else None  # a smoke test; unset = all
protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
data, _ = load_protocol_data(protocol, resolve_data_path(protocol, None, pathlib.Path(__file__).parents[3]))
trained = load_trained_model(checkpoint, device="cpu")
saved = trained.generation_config.to_dict()
options = EvaluationArguments(
    **{option: saved[key] for key, option in DECODING_OPTIONS.items()},
    eval_ks=[1, 10], selection_metric="ndcg@10", validation_max_users=None, eval_batch_size=250,
)
original = generation_mindrec.catalogue_scoring
CACHE: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # per call: items [B, N], S [B, N], delta [B, N]
STATE = {"alpha": 0.0, "call": 0}


def segment_log_normaliser(log_probs: torch.Tensor, item_path: torch.Tensor, paths: torch.Tensor) -> torch.Tensor:
    """``[R]`` logsumexp of ``log_probs [R, I]`` over the items whose path id equals ``paths [R]``."""
    same = item_path[None, :] == paths[:, None]
    return torch.logsumexp(log_probs.masked_fill(~same, float("-inf")), dim=1)


def path_tables(index) -> tuple[torch.Tensor, torch.Tensor]:
    """Each item's category-path id ``[I]`` and, per path id, the category slot values of its paths ``[P, levels]``
    (computed once: the catalogue does not change between batches)."""
    if "paths" not in STATE:
        levels = index.item_codes[:, : index.num_category_levels]
        path_codes, item_path = torch.unique(levels, dim=0, return_inverse=True)
        STATE["paths"] = (item_path, path_codes)
    return STATE["paths"]


def conditioned_terms(scorer, index, user_ids, items):
    """``[B, N]`` the re-ranking term of candidates ``items [B, N]`` (see the module docstring)."""
    item_path, path_codes = path_tables(index)
    rows = torch.arange(items.shape[0])[:, None].expand_as(items).reshape(-1)  # [B * N] each pair's batch row
    flat_items = items.reshape(-1)
    # One conditioned canvas per distinct (user, path) pair of the candidates.
    keys, pair_key = torch.unique(rows * len(path_codes) + item_path[flat_items], return_inverse=True)
    key_row, key_path = keys // len(path_codes), keys % len(path_codes)
    masked = scorer.item_log_probs(user_ids).float()  # [B, I]
    cond_item = torch.empty(len(flat_items))
    cond_norm, masked_norm = torch.empty(len(keys)), torch.empty(len(keys))
    for start in range(0, len(keys), 1000):
        stop = min(start + 1000, len(keys))
        users, paths = user_ids[key_row[start:stop]], key_path[start:stop]
        canvas = torch.full((stop - start, index.code_length), -1, dtype=torch.long)
        canvas[:, : index.num_category_levels] = path_codes[paths]
        hidden = scorer.canvas_hidden(canvas, users)
        # item_log_probs reads the states of its last call when they are the same users' fully masked canvases:
        # handing it these instead gives the head's adjusted log-softmax at the conditioned canvases.
        scorer._last_call = (torch.full_like(canvas, -1), users, hidden)
        log_probs = scorer.item_log_probs(users).float()  # [R, I]
        scorer._last_call = None
        cond_norm[start:stop] = segment_log_normaliser(log_probs, item_path, paths)
        masked_norm[start:stop] = segment_log_normaliser(masked[key_row[start:stop]], item_path, paths)
        in_chunk = (pair_key >= start) & (pair_key < stop)
        cond_item[in_chunk] = log_probs[pair_key[in_chunk] - start, flat_items[in_chunk]]
    if MODE == "raw":
        delta = cond_item
    else:
        masked_item = masked[rows, flat_items]
        delta = (cond_item - cond_norm[pair_key]) - (masked_item - masked_norm[pair_key])
    return delta.view(items.shape)


def catalogue_scoring(scorer, index, user_ids, excluded, num_beams, **kwargs):
    call = STATE["call"]
    STATE["call"] += 1
    if call >= len(CACHE):
        hypotheses = original(scorer, index, user_ids, excluded, max(num_beams, N_CAND), **kwargs)
        items = index.lookup(hypotheses.codes)
        delta = conditioned_terms(scorer, index, user_ids, items.clamp(min=0)).masked_fill(items < 0, 0.0)
        CACHE.append((items, hypotheses.scores, delta))
    items, scores, delta = CACHE[call]
    reranked = scores + kwargs["retrieval_weight"] * STATE["alpha"] * delta
    reranked = reranked.masked_fill(items < 0, float("-inf"))
    top, order = reranked.topk(num_beams, dim=1)
    chosen = items.gather(1, order)
    codes = index.item_codes[chosen.clamp(min=0)].masked_fill((chosen < 0)[..., None], -1)
    return Hypotheses(codes=codes, scores=top)


generation_mindrec.catalogue_scoring = catalogue_scoring
accelerator = make_accelerator("no")
for alpha in alphas:
    STATE.update(alpha=alpha, call=0)
    result = evaluate_mindrec(trained, data, options, accelerator, split_name, show_progress=False, max_users=MAX_USERS)
    print(json.dumps({"checkpoint": checkpoint, "split": split_name, "mode": MODE, "n_cand": N_CAND, "alpha": alpha,
                      **{name: round(value, 4) for name, value in result.metrics.items()}}), flush=True)
