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
    named by PROTOCOL (beauty-full by default; DATA=<folder> reads another dataset with it, as the benchmark's
    ``--data``), torch on THREADS threads (1 by default)."""
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    protocol = PROTOCOLS[os.environ.get("PROTOCOL", "beauty-full")]
    path = resolve_data_path(protocol, os.environ.get("DATA"), pathlib.Path(__file__).parents[2])
    data, _ = load_protocol_data(protocol, path)
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


def fused_catalogue_scores(scorer, index, user_ids, excluded, temperature, retrieval_weight, rare_item_generative_weight):
    """What the fused one-pass decoder ranks by, for probes that replace ``generation_mindrec.catalogue_scoring``:
    ``(fused [B, I] with excluded items at -inf, the slot log-probs of the fully masked canvas [B, L, V])``."""
    import mindrec.modeling.decoding_catalogue_scoring as scoring

    canvas = torch.full((user_ids.shape[0], index.code_length), -1, dtype=torch.long)
    log_probs = scoring.score_canvas(scorer, canvas, user_ids, temperature)
    generative = scoring.catalogue_log_probs(log_probs, index.item_codes)  # [B, I]
    mean = scoring.catalogue_mean_log_probs(log_probs, index.item_codes)[:, None]
    rarity = rare_item_generative_weight * scorer.item_rarity().float()
    fused = generative + rarity * (generative - mean) + retrieval_weight * scorer.item_log_probs(user_ids).float()
    return fused.masked_fill(scoring.excluded_item_mask(excluded, 0, index.num_items), float("-inf")), log_probs


def load_saved_sasrec(model_dir, data, plan, counts, brands=None):
    """A beauty-full SASRec saved by ``decoding-grid/sasrec_lambda.py`` (``MODEL_DIR/model.pt``) with the plan's config,
    its training counts and (``brands``) its item brands installed, in eval mode. The saved transition table is left
    out: callers count it again for the split they read."""
    from mindrec.baselines.sasrec import SASRecConfig, SASRecModel

    model = SASRecModel(SASRecConfig(**{**plan.model, "num_items": data.num_items}))
    model.set_item_counts(counts)
    if brands is not None:
        model.set_item_brands(brands)
    state = torch.load(pathlib.Path(model_dir) / "model.pt")
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("item_transition")}, strict=False)
    return model.eval()


def install_sasrec_split_counts(model, data, split_name: str) -> None:
    """A saved SASRec's transition table (counted with its gap decay) and newest-item counts as of ``split_name``'s
    targets, as the benchmark installs them before decoding that split."""
    from mindrec.baselines import decoding_counts

    split_counts = decoding_counts(data.splits, data.num_items, split_name, model.config.transition_gap_decay)
    model.set_item_transitions(split_counts["transition_counts"])
    model.set_recent_counts(split_counts["recent_counts"])


def install_split_counts(trained, data, split_name: str) -> None:
    """The decoding counts as of ``split_name``'s targets in ``trained``'s model, counted with its gap decay (as the
    benchmark decodes that split)."""
    from mindrec.baselines import decoding_counts
    from mindrec.training.model_setup import install_item_counts

    gap = trained.generation_config.transition_gap_decay
    install_item_counts(trained.model, **decoding_counts(data.splits, data.num_items, split_name, gap))


def record_fused_decoding(on_batch) -> None:
    """Replace ``generation_mindrec.catalogue_scoring`` by a decoder that decodes as the fused one-pass decoder and
    hands each batch's ``(fused [B, I], slot log-probs [B, L, V], index)`` to ``on_batch`` first."""
    import mindrec.modeling.decoding_catalogue_scoring as scoring
    import mindrec.modeling.generation_mindrec as generation

    def decode(scorer, index, user_ids, excluded, num_beams, temperature=1.0, retrieval_weight=0.0,
               rare_item_generative_weight=0.0):
        fused, log_probs = fused_catalogue_scores(
            scorer, index, user_ids, excluded, temperature, retrieval_weight, rare_item_generative_weight
        )
        on_batch(fused, log_probs, index)
        best_scores, best_items = fused.topk(num_beams, dim=1)
        return scoring.Hypotheses(codes=index.item_codes[best_items], scores=best_scores)

    generation.catalogue_scoring = decode
