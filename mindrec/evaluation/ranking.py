"""Turn full-catalogue scores into top-K item lists, optionally excluding each user's history."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def history_mask(
    histories: Sequence[Sequence[int]],
    num_items: int,
    device: torch.device | None = None,
    first_row: int = 0,
) -> torch.Tensor:
    """Boolean ``[num_users, num_items]`` mask, True where the item occurs in the user's history.

    Args:
        histories: one item-index list per user.
        num_items: catalogue size.
        device: where to build the mask.
        first_row: row number of ``histories[0]`` in the caller's full list, for error messages
            when the caller works through its users in chunks.

    Raises:
        ValueError: naming the user row and the value when a history item is outside ``0 .. num_items-1``.
    """
    rows: list[int] = []
    cols: list[int] = []
    for row, history in enumerate(histories):
        for item in history:
            if not 0 <= item < num_items:
                raise ValueError(
                    f"history of user row {first_row + row} holds item {item}, outside 0..{num_items - 1}"
                )
            rows.append(row)
            cols.append(item)
    mask = torch.zeros(len(histories), num_items, dtype=torch.bool, device=device)
    if rows:
        mask[torch.tensor(rows, device=device), torch.tensor(cols, device=device)] = True
    return mask


def top_k_items(scores: torch.Tensor, k: int, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Indices of the ``k`` highest-scoring items per row, best first.

    Args:
        scores: float ``[num_users, num_items]``; ``-inf`` marks an item that must never be returned.
        k: list length, ``1 <= k <= num_items``.
        exclude: optional bool ``[num_users, num_items]``; True items are never returned.

    Returns:
        LongTensor ``[num_users, k]``. When a row has fewer than ``k`` eligible items, its remaining
        slots hold ``-1``. Exact ties are ordered by ``torch.topk`` (unspecified); callers that need a
        deterministic tie-break must pass distinct scores.
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must be [num_users, num_items], got shape {tuple(scores.shape)}")
    num_items = scores.shape[1]
    if not 1 <= k <= num_items:
        raise ValueError(f"k must be in 1..{num_items} (the catalogue size), got {k}")
    if exclude is not None:
        if exclude.shape != scores.shape:
            raise ValueError(
                f"exclude has shape {tuple(exclude.shape)}, scores {tuple(scores.shape)}; they must match"
            )
        scores = scores.masked_fill(exclude, float("-inf"))
    values, indices = torch.topk(scores, k, dim=1)
    return indices.masked_fill(values == float("-inf"), -1)


__all__ = ["history_mask", "top_k_items"]
