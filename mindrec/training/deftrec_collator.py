"""Batches of dataset rows for DeftRec training: histories, targets and sampled negatives.

Rows follow the dataset schema of docs/ARCHITECTURE.md (``user_id: str``, ``history: list[int]``,
``target: int``, item indices). The training loop calls ``model(**collator(rows)).loss``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

HISTORY_PADDING = -1


class DeftRecCollator:
    """Turn rows into ``{"history_items", "target_items", "negative_items"}`` LongTensors.

    * ``history_items [batch, H]``: the last ``max_history`` items of each history, chronological,
      left-padded with -1 to the longest (truncated) history of the batch.
    * ``target_items [batch]``.
    * ``negative_items [batch, num_negatives]``: drawn uniformly and independently (with
      replacement) from the items that are neither the row's target nor in its (truncated) history.

    Negatives come from one ``torch.Generator`` seeded with ``seed`` and advanced by every call, so a
    fresh collator fed the same batches in the same order draws the same negatives. (DataLoader
    workers each hold a copy of the collator, hence each replays the same stream: seed per worker
    through ``worker_init_fn`` when that matters.)

    Args:
        num_items: catalogue size; items are ``0 .. num_items-1``.
        max_history: most recent history items kept per row.
        num_negatives: negatives per row (0 gives an empty ``[batch, 0]`` tensor).
        seed: seed of the negative sampler.
    """

    def __init__(self, num_items: int, max_history: int, num_negatives: int, seed: int = 0):
        if num_items < 1:
            raise ValueError(f"`num_items` must be >= 1, got {num_items}.")
        if max_history < 0:
            raise ValueError(f"`max_history` must be >= 0, got {max_history}.")
        if num_negatives < 0:
            raise ValueError(f"`num_negatives` must be >= 0, got {num_negatives}.")
        self.num_items = num_items
        self.max_history = max_history
        self.num_negatives = num_negatives
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    def _row_items(self, row: Mapping, index: int) -> tuple[list[int], int]:
        """Validated ``(truncated history, target)`` of one row; errors name the row and the item."""
        name = f"row {index} (user_id={row.get('user_id')!r})"
        for key in ("history", "target"):
            if key not in row:
                raise ValueError(f"{name} has no {key!r} field; DeftRec rows need 'history' and 'target'.")
        history = [int(item) for item in row["history"]]
        history = history[-self.max_history :] if self.max_history else []
        target = int(row["target"])
        for item in [*history, target]:
            if not 0 <= item < self.num_items:
                raise ValueError(f"{name} holds item index {item}, outside [0, {self.num_items}).")
        if self.num_negatives and len({*history, target}) >= self.num_items:
            raise ValueError(
                f"{name}: its history and target cover all {self.num_items} items, so no negative can be drawn."
            )
        return history, target

    def sample_negatives(self, forbidden: torch.LongTensor) -> torch.LongTensor:
        """Uniform draws ``[batch, num_negatives]`` avoiding each row's ``forbidden [batch, F]`` items.

        Rejection sampling: redraw only the entries that hit a forbidden item (padding -1 never
        matches). It terminates because every row has at least one allowed item; a round costs
        ``batch * num_negatives * F`` comparisons, never the catalogue size.
        """
        batch = forbidden.shape[0]
        negatives = torch.randint(self.num_items, (batch, self.num_negatives), generator=self.generator)
        while True:
            clash = (negatives[:, :, None] == forbidden[:, None, :]).any(-1)
            count = int(clash.sum())
            if not count:
                return negatives
            negatives[clash] = torch.randint(self.num_items, (count,), generator=self.generator)

    def __call__(self, rows: Sequence[Mapping]) -> dict[str, torch.LongTensor]:
        if not rows:
            raise ValueError("Cannot collate an empty list of rows.")
        histories, targets = zip(*(self._row_items(row, index) for index, row in enumerate(rows)), strict=True)
        width = max(len(history) for history in histories)
        history_items = torch.full((len(rows), width), HISTORY_PADDING, dtype=torch.long)
        for index, history in enumerate(histories):
            if history:
                history_items[index, width - len(history) :] = torch.tensor(history, dtype=torch.long)
        target_items = torch.tensor(targets, dtype=torch.long)
        forbidden = torch.cat([history_items, target_items[:, None]], dim=1)
        return {
            "history_items": history_items,
            "target_items": target_items,
            "negative_items": self.sample_negatives(forbidden),
        }


__all__ = ["DeftRecCollator"]
