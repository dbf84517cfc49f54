"""Confidence-guided Parallel Denoising (DiffGRM's CPD decoder).

``W`` beams; at every step the global top-``W`` over all (beam, masked slot, value) triples of a user
is kept -- category slots included, in any order -- after dropping duplicate states; one slot is
fixed per step, ``L`` steps. This equals each beam proposing its best distinct children and keeping
the best ``W`` of the pool, so it shares :func:`beam_search` with the other beam decoders; it differs
from Diffusion Beam Search only in not forcing the category slots first.

Remote code: imports only torch and single-dot relative imports.
"""

from collections.abc import Callable

import torch

from .catalogue_index import CatalogueIndex
from .decoding_utils import Hypotheses, beam_search, slot_mask


def parallel_denoising(
    scorer: Callable,
    index: CatalogueIndex,
    user_ids: torch.LongTensor,
    excluded: torch.LongTensor,
    num_beams: int,
    temperature: float = 1.0,
) -> Hypotheses:
    """Decode ``num_beams`` complete codes per user, best first (arguments as :func:`diffusion_beam_search`)."""
    length = index.code_length
    every_slot = slot_mask(length, range(length), user_ids.device)
    return beam_search(scorer, index, user_ids, excluded, [every_slot] * length, num_beams, temperature)


__all__ = ["parallel_denoising"]
