"""Iterative k-core filtering of (user, item) interactions."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Hashable, Sequence

logger = logging.getLogger(__name__)


def kcore_filter(pairs: Sequence[tuple[Hashable, Hashable]], k: int) -> list[int]:
    """Positions of the interactions that survive k-core filtering, in their original order.

    Repeatedly drops every interaction whose user or item has fewer than ``k`` interactions among
    those still kept, until nothing changes (dropping an item can push a user below ``k`` and vice
    versa). Repeated (user, item) pairs count once each. ``k <= 1`` keeps everything.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    keep = list(range(len(pairs)))
    if k <= 1:
        return keep
    rounds = 0
    while True:
        users = Counter(pairs[i][0] for i in keep)
        items = Counter(pairs[i][1] for i in keep)
        survivors = [i for i in keep if users[pairs[i][0]] >= k and items[pairs[i][1]] >= k]
        rounds += 1
        if len(survivors) == len(keep):
            break
        keep = survivors
    logger.info("%d-core: kept %d of %d interactions after %d rounds", k, len(keep), len(pairs), rounds)
    return keep
