"""Shared machinery of the decoders: scoring, the batched beam step, dedupe, and distinct-item collection.

Every decoder works on a batch of users at once. A *hypothesis* is a partial code (``-1`` = masked
slot) with a score, the fp32 sum of the log-probabilities of the values committed so far. Users hold
``[B, W]`` hypotheses; the live ones (score > -inf) are flattened to rows for the one scorer call of
each step (``row_to_user`` maps rows back to users).

Two hypotheses of a user are *duplicates* when they leave exactly the same catalogue items reachable
(same count and fingerprint from :meth:`CatalogueIndex.expand`). Identical partial codes reached by
different fill orders are the obvious case; the general rule also merges e.g. ``{s4=17}`` and
``{s5=3}`` once both pin down the same item -- without it, any-order search spends its beams on a few
items, because a beam's best children are usually the digits of one item.

Remote code: imports only torch, transformers and single-dot relative imports.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers.utils import logging

from .catalogue_index import CatalogueIndex

logger = logging.get_logger(__name__)


@dataclass
class Hypotheses:
    """What a decoder returns for ``B`` users: ``codes [B, H, L]`` (complete codes; ``-1`` rows where a
    hypothesis died) and ``scores [B, H]`` (fp32 sums of log-probs, ``-inf`` for dead hypotheses)."""

    codes: torch.LongTensor
    scores: torch.FloatTensor


def score_canvas(
    scorer: Callable, canvas: torch.LongTensor, row_to_user: torch.LongTensor, temperature: float = 1.0
) -> torch.FloatTensor:
    """One scorer call: ``canvas [N, L]`` of users ``row_to_user [N]`` -> fp32 log-probs ``[N, L, V]``.

    ``temperature != 1`` rescales each slot's distribution: ``log_softmax(log_probs / T)``, which equals
    a softmax of ``logits / T`` because log-probs differ from logits by a per-slot constant.
    """
    log_probs = scorer(canvas, row_to_user)
    expected = (canvas.shape[0], canvas.shape[1])
    if log_probs.dim() != 3 or tuple(log_probs.shape[:2]) != expected:
        raise ValueError(
            f"The canvas scorer returned shape {tuple(log_probs.shape)} for a canvas of shape "
            f"{tuple(canvas.shape)}; expected [{expected[0]}, {expected[1]}, max(code_slot_sizes)]."
        )
    log_probs = log_probs.float()
    if temperature != 1.0:
        log_probs = torch.log_softmax(log_probs / temperature, dim=-1)
    return log_probs


def initial_beams(
    num_users: int, code_length: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """One fully masked hypothesis per user: ``canvas [B, 1, L]`` of ``-1`` and ``scores [B, 1]`` of 0."""
    canvas = torch.full((num_users, 1, code_length), -1, dtype=torch.long, device=device)
    return canvas, torch.zeros(num_users, 1, device=device)


def duplicate_mask(scores: torch.Tensor, *keys: torch.Tensor) -> torch.BoolTensor:
    """``[B, P]`` True for every candidate whose ``keys`` all equal those of a better-scored candidate
    of the same user (ties: the earlier position wins). ``scores`` and every key are ``[B, P]``."""
    order = scores.argsort(dim=1, descending=True, stable=True)
    for key in reversed(keys):  # stable sorts, last key first = lexicographic order on keys
        order = order.gather(1, key.gather(1, order).argsort(dim=1, stable=True))
    same = torch.ones_like(order[:, 1:], dtype=torch.bool)
    for key in keys:
        ordered = key.gather(1, order)
        same &= ordered[:, 1:] == ordered[:, :-1]
    repeated = torch.cat([same.new_zeros(same.shape[0], 1), same], dim=1)
    return torch.zeros_like(repeated).scatter(1, order, repeated)


def beam_search_step(
    scorer: Callable,
    index: CatalogueIndex,
    user_ids: torch.LongTensor,
    excluded: torch.LongTensor,
    canvas: torch.LongTensor,
    scores: torch.FloatTensor,
    fillable_slots: torch.BoolTensor,
    num_beams: int,
    temperature: float = 1.0,
) -> tuple[torch.LongTensor, torch.FloatTensor]:
    """Fill one more slot: keep each user's ``num_beams`` best distinct children of its live hypotheses.

    A child fixes one masked slot allowed by ``fillable_slots [L]`` to a value that keeps a
    non-excluded item reachable; its score is the parent's plus that value's log-prob. Children are
    pooled over all of a user's hypotheses, duplicates dropped (best score kept), best ``num_beams`` kept
    -- i.e. every beam proposes its best distinct children and the pool keeps the best overall.

    Args:
        scorer: the canvas scorer; called once, on the live rows only.
        index: catalogue index (validity, fingerprints).
        user_ids: ``[B]`` user index (as the scorer knows it) of each local user.
        excluded: ``[B, E]`` exclusion table of the local users.
        canvas: ``[B, W, L]`` partial codes; ``scores [B, W]`` their scores (``-inf`` = dead).
    Returns:
        ``canvas [B, num_beams, L]`` and ``scores [B, num_beams]``, sorted best first.
    """
    num_users, _, length = canvas.shape
    max_size = index.max_slot_size
    neg_inf = float("-inf")
    user, beam = (scores > neg_inf).nonzero(as_tuple=True)  # live rows [n]
    if user.numel() == 0:
        return (
            torch.full((num_users, num_beams, length), -1, dtype=torch.long, device=canvas.device),
            torch.full((num_users, num_beams), neg_inf, device=canvas.device),
        )
    rows = canvas[user, beam]  # [n, L]
    log_probs = score_canvas(scorer, rows, user_ids[user], temperature)  # [n, L, V]
    # Only the fillable slots are expanded and searched: S of the L slots.
    slots = fillable_slots.nonzero().flatten()  # [S]
    expansion = index.expand(rows, user, excluded, slots)  # counts [n, S, V]
    fillable = rows[:, slots] < 0  # [n, S]
    if int(slots[-1]) - int(slots[0]) + 1 == slots.shape[0]:  # a range of slots: a view, no copy
        log_probs = log_probs[:, int(slots[0]) : int(slots[-1]) + 1]
    else:
        log_probs = log_probs.index_select(1, slots)
    child_scores = log_probs + scores[user, beam][:, None, None]  # [n, S, V]
    child_scores.masked_fill_(expansion.counts <= 0, neg_inf)  # values that leave no item reachable
    child_scores.masked_fill_(~fillable[..., None], neg_inf)  # slots already fixed

    # A child state arises at most once per fillable slot of its parent, so a parent's best
    # (num_beams x fillable slots) (slot, value) pairs hold its num_beams best distinct children.
    num_rows = rows.shape[0]
    proposals = min(num_beams * max(int(fillable.sum(dim=1).max()), 1), slots.shape[0] * max_size)
    top_scores, top_index = child_scores.view(num_rows, -1).topk(proposals, dim=1)  # [n, M]
    top_counts = expansion.counts.view(num_rows, -1).gather(1, top_index)
    top_keys = expansion.fingerprints(top_index)

    # Pool the proposals per user: position beam * M + j of the user's row.
    pool_size = canvas.shape[1] * proposals
    position = (beam[:, None] * proposals + torch.arange(proposals, device=canvas.device)).flatten()
    pool_user = user.repeat_interleave(proposals)
    pool_scores = torch.full((num_users, pool_size), neg_inf, device=canvas.device)
    pool_counts = torch.zeros((num_users, pool_size), dtype=torch.int32, device=canvas.device)
    pool_keys = torch.zeros((num_users, pool_size), dtype=torch.long, device=canvas.device)
    pool_source = torch.full((num_users, pool_size), -1, dtype=torch.long, device=canvas.device)
    pool_scores[pool_user, position] = top_scores.flatten()
    pool_counts[pool_user, position] = top_counts.flatten()
    pool_keys[pool_user, position] = top_keys.flatten()
    pool_source[pool_user, position] = torch.arange(num_rows * proposals, device=canvas.device)
    pool_scores = pool_scores.masked_fill(duplicate_mask(pool_scores, pool_counts, pool_keys), neg_inf)

    keep = min(num_beams, pool_size)
    new_scores, pick = pool_scores.topk(keep, dim=1)  # [B, keep]
    source = pool_source.gather(1, pick).clamp(min=0)
    choice = top_index.flatten()[source]
    slot, value = slots[choice // max_size], choice % max_size
    children = rows[source // proposals].scatter(2, slot[..., None], value[..., None])  # [B, keep, L]
    children = children.masked_fill((new_scores == neg_inf)[..., None], -1)
    if keep < num_beams:
        children = torch.cat([children, children.new_full((num_users, num_beams - keep, length), -1)], dim=1)
        new_scores = torch.cat(
            [new_scores, new_scores.new_full((num_users, num_beams - keep), neg_inf)], dim=1
        )
    return children, new_scores


def beam_search(
    scorer: Callable,
    index: CatalogueIndex,
    user_ids: torch.LongTensor,
    excluded: torch.LongTensor,
    fill_schedule: Sequence[torch.BoolTensor],
    num_beams: int,
    temperature: float = 1.0,
) -> Hypotheses:
    """Run :func:`beam_search_step` once per entry of ``fill_schedule`` (the slots each step may fill,
    ``[L]`` bools) from one fully masked hypothesis per user. The schedule must fill every slot."""
    canvas, scores = initial_beams(user_ids.shape[0], index.code_length, user_ids.device)
    for fillable_slots in fill_schedule:
        canvas, scores = beam_search_step(
            scorer, index, user_ids, excluded, canvas, scores, fillable_slots, num_beams, temperature
        )
    return Hypotheses(codes=canvas, scores=scores)


def slot_mask(code_length: int, slots: Sequence[int] | range, device: torch.device) -> torch.BoolTensor:
    """``[L]`` bools, True at ``slots``."""
    mask = torch.zeros(code_length, dtype=torch.bool, device=device)
    mask[list(slots)] = True
    return mask


def collect_distinct_items(
    decode: Callable[[torch.LongTensor, torch.LongTensor], Hypotheses],
    index: CatalogueIndex,
    excluded: torch.LongTensor,
    num_return_items: int,
    strategy_name: str = "decoder",
) -> tuple[torch.LongTensor, torch.FloatTensor, torch.LongTensor]:
    """Run ``decode(user_ids, excluded)`` until every user has ``num_return_items`` distinct items.

    Hypotheses of one search can converge onto the same item, leaving fewer than K distinct items. The
    users concerned are decoded again with the items already found excluded, until they have K items,
    the catalogue is exhausted for them, or a pass finds nothing new (the model gave every remaining
    path -inf). All items found are ranked by score.

    Args:
        decode: a decoder bound to its options; ``user_ids [b]`` and ``excluded [b, E]`` select the users.
        index: the catalogue index.
        excluded: ``[B, E]`` initial exclusion table.
    Returns:
        ``item_indices [B, K]`` int64, ``scores [B, K]`` fp32 and ``codes [B, K, L]``, best first; padded
        with item ``-1``, score ``-inf`` and code ``-1`` where fewer than K items could be found.
    """
    num_users = excluded.shape[0]
    device = excluded.device
    target = index.num_available(excluded).clamp(max=num_return_items)  # [B]
    found_items = torch.empty(num_users, 0, dtype=torch.long, device=device)
    found_scores = torch.empty(num_users, 0, device=device)
    active = torch.arange(num_users, device=device)
    decode_pass = 0
    while active.numel() > 0:
        decode_pass += 1
        hypotheses = decode(active, excluded[active])
        items = index.lookup(hypotheses.codes)  # [b, H]
        alive = (hypotheses.scores > float("-inf")) & (items >= 0)
        width = items.shape[1]
        new_items = torch.full((num_users, width), -1, dtype=torch.long, device=device)
        new_scores = torch.full((num_users, width), float("-inf"), device=device)
        new_items[active] = items.masked_fill(~alive, -1)
        new_scores[active] = hypotheses.scores.masked_fill(~alive, float("-inf"))
        found_items = torch.cat([found_items, new_items], dim=1)
        found_scores = torch.cat([found_scores, new_scores], dim=1)
        # A decoder never returns an excluded item, so this keeps every row of the table distinct.
        excluded = torch.cat([excluded, new_items], dim=1)
        num_found = (found_items >= 0).sum(dim=1)
        gained = (new_items[active] >= 0).any(dim=1)
        active = active[(num_found[active] < target[active]) & gained]
        if active.numel() > 0:
            logger.debug(
                f"{strategy_name}: {active.numel()} users have fewer than {num_return_items} distinct items after "
                f"pass {decode_pass} (hypotheses converged onto the same items); decoding them again."
            )

    # Defensive: one item found twice (it cannot be with exact fingerprints) is kept once, best score.
    found_scores = found_scores.masked_fill(duplicate_mask(found_scores, found_items), float("-inf"))
    if found_scores.shape[1] < num_return_items:
        pad = num_return_items - found_scores.shape[1]
        found_scores = torch.cat(
            [found_scores, found_scores.new_full((num_users, pad), float("-inf"))], dim=1
        )
        found_items = torch.cat([found_items, found_items.new_full((num_users, pad), -1)], dim=1)
    scores, order = found_scores.topk(num_return_items, dim=1)
    item_indices = found_items.gather(1, order).masked_fill(scores == float("-inf"), -1)
    codes = index.item_codes[item_indices.clamp(min=0)].masked_fill(item_indices[..., None] < 0, -1)
    return item_indices, scores, codes


__all__ = [
    "Hypotheses",
    "beam_search",
    "beam_search_step",
    "collect_distinct_items",
    "duplicate_mask",
    "initial_beams",
    "score_canvas",
    "slot_mask",
]
