"""Diffusion Beam Search (MindRec): categories coarse to fine, then the most confident digits first.

The canvas starts as ``[MASK] x (D + n)``. Phase A fills the category slots in order, one per step:
each beam proposes its best valid values for level ``l`` (children of its category path), and the
best ``W`` beams overall are kept. Phase B runs ``n`` steps; at each, each beam proposes its best
(slot, value) pairs over all of its still-masked semantic-ID slots (so different beams may fill
different slots), the pooled children are deduplicated and the best ``W`` kept. ``D + n`` scorer
calls over ``users x W`` rows in all. Validity (a child keeps at least one non-excluded catalogue item
reachable) is enforced inside the search by the :class:`CatalogueIndex`.

Remote code: imports only torch and single-dot relative imports.
"""

from collections.abc import Callable

import torch

from .catalogue_index import CatalogueIndex
from .decoding_utils import Hypotheses, beam_search, slot_mask


def diffusion_beam_search(
    scorer: Callable,
    index: CatalogueIndex,
    user_ids: torch.LongTensor,
    excluded: torch.LongTensor,
    num_beams: int,
    temperature: float = 1.0,
) -> Hypotheses:
    """Decode ``num_beams`` complete codes per user, best first.

    Args:
        scorer: canvas scorer ``(canvas [N, L], row_to_user [N]) -> log-probs [N, L, V]``.
        index: catalogue index; its ``num_category_levels`` gives D.
        user_ids: ``[B]`` users to decode (indices the scorer understands).
        excluded: ``[B, E]`` exclusion table of those users (``-1`` padded).
        num_beams: W, hypotheses kept per user after every step.
        temperature: per-slot softmax temperature.
    Returns:
        :class:`Hypotheses` with ``codes [B, W, L]`` and ``scores [B, W]``.
    """
    length, levels, device = index.code_length, index.num_category_levels, user_ids.device
    # 1. Phase A: category level l alone at step l (coarse to fine).
    schedule = [slot_mask(length, [level], device) for level in range(levels)]
    # 2. Phase B: any still-masked semantic-ID slot, n times (key tokens first).
    schedule += [slot_mask(length, range(levels, length), device)] * (length - levels)
    return beam_search(scorer, index, user_ids, excluded, schedule, num_beams, temperature)


__all__ = ["diffusion_beam_search"]
