"""One-pass catalogue scoring: every catalogue item scored from a single fully masked canvas.

One scorer call per user gives each slot's distribution with nothing filled in; an item's score is the
sum of its slots' log-probs, ``sum_l log p_l(c_il | history)``. That is the exact log-probability the
model assigns to the item when all slots are filled in one step (the model factorises its first step
over slots); it ignores the dependencies a multi-step search would condition on, in exchange for ranking
the whole catalogue -- nothing is pruned -- with one forward pass instead of ``code_length``. It suits
parallel (product-quantised) semantic IDs, whose digits each code their own subspace.

With ``retrieval_weight > 0`` the score of item ``i`` becomes ``sum_l log p_l(c_il) + retrieval_weight *
log q(i)``, where ``q`` is the model's dense retrieval head (a softmax over the catalogue, read at the same
fully masked canvas): a product of the two experts' distributions over items.

``rare_item_generative_weight`` (kappa) lets the generative expert weigh more where the head knows less: the
generative score ``G(i)`` of an item with ``n_i`` training interactions counts ``1 + kappa / (1 + n_i)`` times
around its mean over the catalogue, ``G(i) + kappa / (1 + n_i) * (G(i) - mean_j G(j))``. The head ranks by learned
item vectors, which an item seen a few times has barely trained; its code (category path and content digits) is
shared with the items it resembles, so the generative score still describes it. Centring keeps a larger weight
from lowering every rare item (G is a negative log-prob): a rare item the generative expert likes better than the
average item rises, one it likes less falls.

Remote code: imports only torch and single-dot relative imports.
"""

from collections.abc import Callable

import torch

from .catalogue_index import CatalogueIndex, excluded_item_mask
from .decoding_utils import Hypotheses, score_canvas

# Scores are computed over chunks of items, so that users x chunk fp32 values stay near 64 MB.
_SCORES_PER_CHUNK = 1 << 24


def catalogue_log_probs(log_probs: torch.FloatTensor, item_codes: torch.LongTensor) -> torch.FloatTensor:
    """``[N, I]`` sums over slots of each item's log-prob: ``out[n, i] = sum_l log_probs[n, l, item_codes[i, l]]``.

    Args:
        log_probs: ``[N, L, V]`` per-slot log-probs (one fully masked canvas per row).
        item_codes: ``[I, L]`` the items' slot values.
    """
    scores = log_probs.new_zeros(log_probs.shape[0], item_codes.shape[0])
    for slot in range(item_codes.shape[1]):
        scores += log_probs[:, slot, :].index_select(1, item_codes[:, slot])
    return scores


def catalogue_mean_log_probs(log_probs: torch.FloatTensor, item_codes: torch.LongTensor) -> torch.FloatTensor:
    """``[N]`` the mean over the catalogue of :func:`catalogue_log_probs`, without its ``[N, I]`` matrix: per slot,
    each value's log-prob times the number of items holding it.

    Args:
        log_probs: ``[N, L, V]`` per-slot log-probs.
        item_codes: ``[I, L]`` the items' slot values.
    """
    total = log_probs.new_zeros(log_probs.shape[0])
    for slot in range(item_codes.shape[1]):
        holders = torch.bincount(item_codes[:, slot], minlength=log_probs.shape[2]).to(log_probs.dtype)  # [V]
        # Values no item holds may have -inf log-probs; they must add 0, not -inf * 0 = nan.
        total += torch.where(holders > 0, log_probs[:, slot, :] * holders, 0.0).sum(dim=1)
    return total / item_codes.shape[0]


def catalogue_scoring(
    scorer: Callable,
    index: CatalogueIndex,
    user_ids: torch.LongTensor,
    excluded: torch.LongTensor,
    num_beams: int,
    temperature: float = 1.0,
    retrieval_weight: float = 0.0,
    rare_item_generative_weight: float = 0.0,
) -> Hypotheses:
    """The ``num_beams`` best non-excluded catalogue items per user by one-pass score, best first, as
    :class:`Hypotheses` (arguments as :func:`~.decoding_diffusion_beam_search.diffusion_beam_search`; the
    scorer is called once). Codes are ``-1`` and scores ``-inf`` where exclusions leave fewer items.

    ``retrieval_weight > 0`` adds that multiple of the scorer's ``item_log_probs(user_ids) [B, num_items]``
    (the retrieval head) to every item's score. ``rare_item_generative_weight`` kappa > 0 adds
    ``kappa * rarity(i) * (G(i) - mean_j G(j))`` to the generative score ``G``, where ``rarity = 1 / (1 + training
    count)`` is the scorer's ``item_rarity() [num_items]`` (see the module docstring).
    """
    num_users, length, device = user_ids.shape[0], index.code_length, user_ids.device
    canvas = torch.full((num_users, length), -1, dtype=torch.long, device=device)
    log_probs = score_canvas(scorer, canvas, user_ids, temperature)  # [B, L, V]
    rarity = mean_score = None
    if rare_item_generative_weight:
        if not hasattr(scorer, "item_rarity"):
            raise ValueError("`rare_item_generative_weight` > 0 needs a scorer that knows item counts (`item_rarity`).")
        rarity = rare_item_generative_weight * scorer.item_rarity().to(log_probs.dtype)  # [I]
        if tuple(rarity.shape) != (index.num_items,):
            raise ValueError(f"`item_rarity` gave {tuple(rarity.shape)} values; expected [{index.num_items}].")
        mean_score = catalogue_mean_log_probs(log_probs, index.item_codes)[:, None]  # [B, 1]
    item_log_probs = None
    if retrieval_weight:
        if not hasattr(scorer, "item_log_probs"):
            raise ValueError("`retrieval_weight` > 0 needs a scorer with a retrieval head (`item_log_probs`).")
        item_log_probs = scorer.item_log_probs(user_ids).float()
        if tuple(item_log_probs.shape) != (num_users, index.num_items):
            raise ValueError(
                f"The retrieval head scored {tuple(item_log_probs.shape)} items; expected [{num_users}, "
                f"{index.num_items}] (one column per catalogue item)."
            )
    width = min(num_beams, index.num_items)
    chunk = max(width, _SCORES_PER_CHUNK // max(num_users, 1))
    best_scores = log_probs.new_full((num_users, 0), float("-inf"))
    best_items = torch.empty(num_users, 0, dtype=torch.long, device=device)
    for start in range(0, index.num_items, chunk):
        codes = index.item_codes[start : start + chunk]
        scores = catalogue_log_probs(log_probs, codes)
        if rarity is not None:
            scores = scores + rarity[start : start + codes.shape[0]] * (scores - mean_score)
        if item_log_probs is not None:
            scores = scores + retrieval_weight * item_log_probs[:, start : start + codes.shape[0]]
        scores = scores.masked_fill(
            excluded_item_mask(excluded, start, start + codes.shape[0]), float("-inf")
        )  # [B, c]
        items = torch.arange(start, start + codes.shape[0], device=device).expand(num_users, -1)
        best_scores, order = torch.cat([best_scores, scores], dim=1).topk(
            min(width, best_scores.shape[1] + scores.shape[1]), dim=1
        )
        best_items = torch.cat([best_items, items], dim=1).gather(1, order)
    codes = index.item_codes[best_items]  # [B, W, L]
    dead = best_scores == float("-inf")
    return Hypotheses(codes=codes.masked_fill(dead[..., None], -1), scores=best_scores)


__all__ = ["catalogue_log_probs", "catalogue_mean_log_probs", "catalogue_scoring"]
