"""Making item codes one-to-one: quantisers give near-duplicate items the same code.

Two strategies (DESIGN §2, "Collisions"):

* ``"reassign"`` (default): in each group of items sharing a full code (category slots + SID), the item
  with the smallest reconstruction error keeps the code; every other item moves to the nearest **free**
  code that keeps its category path. It first tries to keep the first ``n-1`` SID digits and choose only the
  last digit (by its distance to the last digit's centroids); when that prefix is full it frees the last two
  digits, and so on. Among codes with the same number of freed digits it takes the one with the smallest
  summed centroid distance, found by a best-first search over the product of the per-digit distance lists
  (for residual quantisers this uses the item's original residuals: an approximation once an earlier digit
  changes). Movers are placed in order of reconstruction error (best-fitting first), then item index.
* ``"extra_digit"``: append one slot; within each colliding group the items get 0, 1, 2, ... (ordered by
  reconstruction error, then index); items without a collision get 0. Its size is the largest group.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

__all__ = ["COLLISION_STRATEGIES", "resolve_collisions"]

logger = logging.getLogger(__name__)

COLLISION_STRATEGIES = ("reassign", "extra_digit")


def _collision_groups(codes: np.ndarray, order_key: np.ndarray) -> list[list[int]]:
    """Groups (size > 1) of item indices sharing a row of ``codes``, each sorted by ``(order_key, index)``."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, row in enumerate(map(tuple, codes.tolist())):
        groups[row].append(index)
    return [
        sorted(members, key=lambda i: (float(order_key[i]), i))
        for members in groups.values()
        if len(members) > 1
    ]


def resolve_collisions(
    category_codes: np.ndarray,
    sid_codes: np.ndarray,
    codebook_size: int,
    strategy: str = "reassign",
    reconstruction_error: np.ndarray | None = None,
    digit_distances: Callable[[np.ndarray], np.ndarray] | None = None,
    show_progress: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return one-to-one SID codes and a report.

    Args:
        category_codes: int64 ``[N, D]`` category slot values (never changed; ``D`` may be 0).
        sid_codes: int64 ``[N, n]`` quantiser codes in ``0 .. codebook_size-1``.
        codebook_size: ``V``, the size of every SID digit.
        strategy: ``"reassign"`` or ``"extra_digit"``.
        reconstruction_error: float ``[N]``; who keeps a shared code (smallest first). ``None`` = item order.
        digit_distances: for ``"reassign"``: called with item indices ``[M]``, returns float ``[M, n, V]``
            (see :meth:`~.base.Quantizer.digit_distances`).

    Returns:
        ``(sid_codes, report)``: int64 ``[N, n]`` (``[N, n + 1]`` for ``"extra_digit"``) and a dict with
        ``strategy``, ``num_moved`` (colliding items other than their group's keeper: moved to a free code,
        or given a non-zero extra digit) and, for ``"reassign"``, ``freed_digits``
        (``{"1": movers that kept n-1 digits, "2": ..., ...}``) or, for ``"extra_digit"``, ``extra_digit_size``.

    Raises:
        ValueError: unknown strategy, or ``"reassign"`` when a category path holds more items than ``V ** n``
            codes (the message names the path).
    """
    if strategy not in COLLISION_STRATEGIES:
        raise ValueError(f"unknown collision strategy {strategy!r}: expected one of {COLLISION_STRATEGIES}")
    category_codes = np.asarray(category_codes, dtype=np.int64).reshape(len(sid_codes), -1)
    sid_codes = np.asarray(sid_codes, dtype=np.int64)
    num_items, num_digits = sid_codes.shape
    order_key = np.zeros(num_items) if reconstruction_error is None else np.asarray(reconstruction_error)
    full = np.concatenate([category_codes, sid_codes], 1)
    groups = _collision_groups(full, order_key)

    if strategy == "extra_digit":
        extra = np.zeros((num_items, 1), dtype=np.int64)
        for members in groups:
            extra[members, 0] = np.arange(len(members))
        size = max((len(members) for members in groups), default=1)
        moved = sum(len(members) - 1 for members in groups)
        return np.concatenate([sid_codes, extra], 1), {
            "strategy": strategy,
            "num_moved": moved,
            "extra_digit_size": size,
        }

    if digit_distances is None:
        raise ValueError("collision strategy 'reassign' needs digit_distances")
    movers = sorted((i for members in groups for i in members[1:]), key=lambda i: (float(order_key[i]), i))
    mover_set = set(movers)
    occupied = {tuple(row) for index, row in enumerate(full.tolist()) if index not in mover_set}
    # prefix_counts[k][prefix] = occupied codes below ``prefix`` (a full code minus its last k digits).
    prefix_counts = [Counter() for _ in range(num_digits + 1)]
    for code in occupied:
        for k in range(1, num_digits + 1):
            prefix_counts[k][code[: len(code) - k]] += 1
    result = full.copy()
    freed = Counter()
    distances = digit_distances(np.asarray(movers, dtype=np.int64)) if movers else None
    for row, item in enumerate(tqdm(movers, desc="reassigning colliding codes", disable=not show_progress)):
        found = _nearest_free_code(full[item], distances[row], codebook_size, occupied, prefix_counts)
        if found is None:
            raise ValueError(
                f"item index {item}: its category path {full[item, : full.shape[1] - num_digits].tolist()} holds more "
                f"items than the {codebook_size}**{num_digits} SID codes; use collision='extra_digit' or a larger "
                "codebook_size / num_sid_digits"
            )
        code, freed_digits = found
        freed[str(freed_digits)] += 1
        occupied.add(code)
        for k in range(1, num_digits + 1):
            prefix_counts[k][code[: len(code) - k]] += 1
        result[item] = code
    report = {"strategy": strategy, "num_moved": len(movers), "freed_digits": dict(sorted(freed.items()))}
    return result[:, full.shape[1] - num_digits :], report


def _nearest_free_code(
    code: np.ndarray,
    distances: np.ndarray,
    codebook_size: int,
    occupied: set[tuple[int, ...]],
    prefix_counts: list[Counter],
) -> tuple[tuple[int, ...], int] | None:
    """Best free code for one item: fewest freed trailing digits first, then smallest summed distance.

    ``code [L]`` is the item's full code, ``distances [n, V]`` its per-digit centroid distances.
    Returns ``(code, freed_digits)`` or ``None`` when even its whole category path is full.
    """
    code = tuple(int(v) for v in code)
    num_digits = distances.shape[0]
    for k in range(1, num_digits + 1):
        prefix = code[: len(code) - k]
        # Occupied codes under a prefix are distinct, so fewer than V**k of them means a free one exists
        # and the search below pops at most that many occupied codes before finding it.
        if prefix_counts[k][prefix] >= codebook_size**k:
            continue
        tail = distances[num_digits - k :]
        order = np.argsort(tail, axis=1, kind="stable")  # [k, V] values by increasing distance
        ranked = np.take_along_axis(tail, order, 1).astype(np.float64)
        start = (0,) * k
        heap = [(float(ranked[np.arange(k), start].sum()), start)]
        seen = {start}
        while heap:
            cost, ranks = heapq.heappop(heap)
            candidate = prefix + tuple(int(order[j, r]) for j, r in enumerate(ranks))
            if candidate not in occupied:
                return candidate, k
            for j in range(k):
                if ranks[j] + 1 < codebook_size:
                    step = ranks[:j] + (ranks[j] + 1,) + ranks[j + 1 :]
                    if step not in seen:
                        seen.add(step)
                        heapq.heappush(heap, (cost - ranked[j, ranks[j]] + ranked[j, ranks[j] + 1], step))
    return None
