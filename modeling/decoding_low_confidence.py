"""Low-confidence remasking (LLaDA's default sampler), as a greedy recommendation decoder.

Greedy: at every step one scorer call, then ``tokens_per_step`` commitments, each the most confident
(masked slot, valid value) pair -- confidence = the value's log-prob -- with validity re-checked after
every commitment (a value that was valid before a commitment of the same step may no longer be). So
``ceil(L / tokens_per_step)`` scorer calls in all.

Several items per user: ``H`` hypotheses fork at the very first commitment. The fork slot is the most
confident slot among those with at least ``H`` valid values (the most confident slot overall when
none has); hypothesis ``h`` takes that slot's ``h``-th best valid value and is then filled greedily.
Distinct values of one slot lead to disjoint sets of items, so the hypotheses end on distinct items.
With ``H = 1`` this is exactly LLaDA's greedy low-confidence decoding.

Remote code: imports only torch and single-dot relative imports.
"""

from collections.abc import Callable

import torch

from .catalogue_index import CatalogueIndex
from .decoding_utils import Hypotheses, score_canvas


def commit_most_confident(
    canvas: torch.LongTensor,
    scores: torch.FloatTensor,
    log_probs: torch.FloatTensor,
    num_commits: int,
    index: CatalogueIndex,
    row_to_user: torch.LongTensor,
    excluded: torch.LongTensor,
) -> tuple[torch.LongTensor, torch.FloatTensor]:
    """Commit ``num_commits`` (slot, value) pairs per row, most confident first, re-checking validity.

    Args:
        canvas: ``[N, L]`` partial codes; ``scores [N]``; ``log_probs [N, L, V]`` of this step.
        row_to_user: ``[N]`` local user of each row (indexes ``excluded [B, E]``).
    Returns:
        the updated ``canvas [N, L]`` and ``scores [N]`` (``-inf`` where no valid value had a finite log-prob).
    """
    canvas, scores = canvas.clone(), scores.clone()
    max_size = log_probs.shape[-1]
    for _ in range(num_commits):
        todo = ((canvas < 0).any(dim=1) & (scores > float("-inf"))).nonzero().flatten()
        if todo.numel() == 0:
            break
        rows = canvas[todo]
        allowed = index.allowed_values(rows, row_to_user[todo], excluded) & (rows < 0)[..., None]
        candidates = log_probs[todo].masked_fill(~allowed, float("-inf")).flatten(1)  # [n, L * V]
        choice = candidates.argmax(dim=1)  # the first of equal maxima
        best = candidates.gather(1, choice[:, None]).squeeze(1)
        canvas[todo, choice // max_size] = choice % max_size
        scores[todo] = scores[todo] + best
    return canvas, scores


def low_confidence_decode(
    scorer: Callable,
    index: CatalogueIndex,
    user_ids: torch.LongTensor,
    excluded: torch.LongTensor,
    num_hypotheses: int,
    temperature: float = 1.0,
    tokens_per_step: int = 1,
) -> Hypotheses:
    """Decode ``num_hypotheses`` greedy completions per user (arguments as :func:`diffusion_beam_search`).

    Returns:
        :class:`Hypotheses` with ``codes [B, H, L]`` and ``scores [B, H]`` (not sorted).
    """
    num_users, length, device = user_ids.shape[0], index.code_length, user_ids.device
    local_users = torch.arange(num_users, device=device)
    neg_inf = float("-inf")

    # 1. First step: score the empty canvas once per user and fork at the seed slot.
    empty = torch.full((num_users, length), -1, dtype=torch.long, device=device)
    first_log_probs = score_canvas(scorer, empty, user_ids, temperature)  # [B, L, V]
    allowed = index.allowed_values(empty, local_users, excluded)
    valid_log_probs = first_log_probs.masked_fill(~allowed, neg_inf)
    confidence = valid_log_probs.max(dim=-1).values  # [B, L]
    wide = allowed.sum(dim=-1) >= num_hypotheses
    seed_slot = torch.where(
        wide.any(dim=1), confidence.masked_fill(~wide, neg_inf).argmax(dim=1), confidence.argmax(dim=1)
    )
    forks = min(num_hypotheses, index.max_slot_size)
    seed_scores, seed_values = valid_log_probs[local_users, seed_slot].topk(forks, dim=1)  # [B, forks]
    canvas = empty[:, None, :].repeat(1, num_hypotheses, 1)
    scores = torch.full((num_users, num_hypotheses), neg_inf, device=device)
    canvas[:, :forks].scatter_(2, seed_slot[:, None, None].expand(-1, forks, 1), seed_values[..., None])
    scores[:, :forks] = seed_scores
    canvas, scores = canvas.view(-1, length), scores.view(-1)
    row_to_user = local_users.repeat_interleave(num_hypotheses)

    # 2. The rest of the first step's commitments use the same log-probs.
    canvas, scores = commit_most_confident(
        canvas, scores, first_log_probs[row_to_user], tokens_per_step - 1, index, row_to_user, excluded
    )

    # 3. Later steps: one scorer call over the live, unfinished hypotheses, then greedy commitments.
    while True:
        rows = ((canvas < 0).any(dim=1) & (scores > neg_inf)).nonzero().flatten()
        if rows.numel() == 0:
            break
        log_probs = score_canvas(scorer, canvas[rows], user_ids[row_to_user[rows]], temperature)
        canvas[rows], scores[rows] = commit_most_confident(
            canvas[rows], scores[rows], log_probs, tokens_per_step, index, row_to_user[rows], excluded
        )
    canvas = canvas.masked_fill((scores == neg_inf)[:, None], -1)
    return Hypotheses(codes=canvas.view(num_users, num_hypotheses, length), scores=scores.view(num_users, -1))


__all__ = ["commit_most_confident", "low_confidence_decode"]
