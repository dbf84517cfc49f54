"""Left-to-right constrained beam search over the same canvas (the ablation without key-token-first).

Step ``t`` fills slot ``t``: each beam proposes its best valid values for that slot, the best ``W``
children are kept. With a fixed fill order the partial codes are prefixes, so this is the classic
trie-constrained beam search (the validity index answers prefix queries too).

Remote code: imports only torch and single-dot relative imports.
"""

from collections.abc import Callable

import torch

from .catalogue_index import CatalogueIndex
from .decoding_utils import Hypotheses, beam_search, slot_mask


def left_to_right_beam_search(
    scorer: Callable,
    index: CatalogueIndex,
    user_ids: torch.LongTensor,
    excluded: torch.LongTensor,
    num_beams: int,
    temperature: float = 1.0,
) -> Hypotheses:
    """Decode ``num_beams`` complete codes per user, best first (arguments as :func:`diffusion_beam_search`)."""
    length = index.code_length
    schedule = [slot_mask(length, [slot], user_ids.device) for slot in range(length)]
    return beam_search(scorer, index, user_ids, excluded, schedule, num_beams, temperature)


__all__ = ["left_to_right_beam_search"]
