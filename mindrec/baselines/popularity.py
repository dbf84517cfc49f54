"""Most-popular baseline: recommend the items with the most training interactions.

What counts as an interaction: every item a user interacted with **before their validation item**,
once per occurrence. In the leave-one-out train split (ARCHITECTURE.md) those are the user's train
targets (positions 1 .. len-3) plus the items of their shortest train history (position 0, and any
earlier items a loader chose not to emit as targets). Counting every history item of every train row
instead would count an early item once per later prefix (position 0 about len-3 times), and
validation/test targets are never counted, so nothing leaks from the held-out items.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pyarrow.compute as pc
import scipy.sparse
import torch
from datasets import Dataset

from ..data.splits import history_arrays
from ..evaluation.ranking import history_mask, top_k_items

logger = logging.getLogger(__name__)

# The counts read a split this many rows at a time (~5M history items at a history of 20): their per-item index arrays
# stay ~40 MB each however large the split, and each slice's counts are summed before the next is read.
ROWS_PER_CHUNK = 1 << 18


def interaction_counts(train: Dataset, num_items: int) -> torch.Tensor:
    """Per-item interaction counts ``[num_items]`` (int64) from a leave-one-out train split.

    Args:
        train: rows ``user_id: str``, ``history: list[int]``, ``target: int``.
        num_items: catalogue size.

    Raises:
        ValueError: naming the row and value of an item index outside ``0 .. num_items-1``.
    """
    missing = {"user_id", "history", "target"} - set(train.column_names)
    if missing:
        raise ValueError(f"train split lacks column(s) {sorted(missing)}; it has {train.column_names}")
    table = train.select_columns(["user_id", "history", "target"]).with_format("arrow")[:]
    targets = table.column("target").to_numpy().astype(np.int64)  # [rows]
    # The items' range, a slice of rows at a time (an array per history item of the whole split is GBs on MovieLens).
    for start in range(0, len(table), ROWS_PER_CHUNK):
        piece = table.slice(start, ROWS_PER_CHUNK)
        values, lengths = history_arrays(piece)
        value_rows = np.repeat(np.arange(len(lengths)), lengths)  # [values]: the row of each history item
        piece_targets = targets[start : start + len(lengths)]
        bad_rows = np.concatenate(
            [value_rows[(values < 0) | (values >= num_items)], np.flatnonzero((piece_targets < 0) | (piece_targets >= num_items))]
        )
        if len(bad_rows):
            row = int(bad_rows.min())
            bad = next(int(item) for item in (*values[value_rows == row], piece_targets[row]) if not 0 <= item < num_items)
            user = piece.column("user_id")[row].as_py()
            raise ValueError(f"train row {start + row} (user {user!r}) holds item {bad}, outside 0..{num_items - 1}")
    # Each user's shortest train history: its items are the ones before the user's first train target.
    lengths = pc.list_value_length(table.column("history")).to_numpy(zero_copy_only=False).astype(np.int64)
    users = table.column("user_id").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    order = np.lexsort((lengths, users))  # by user, then by history length, ties in row order
    first_of_user = np.ones(len(order), dtype=bool)
    first_of_user[1:] = users[order[1:]] != users[order[:-1]]
    shortest, _ = history_arrays(table.take(np.sort(order[first_of_user])))
    return torch.bincount(torch.from_numpy(np.concatenate([targets, shortest])), minlength=num_items)


def latest_interaction_counts(split: Dataset, num_items: int) -> torch.Tensor:
    """How often each item is the last history item of a row of ``split`` ``[num_items]`` (int64).

    On the leave-one-out validation split, whose history is a user's whole training sequence, that is how often
    each item is a user's newest training interaction: the popularity closest in time to the held-out items.

    Raises:
        ValueError: naming the row and value of an item index outside ``0 .. num_items-1``, or a missing column.
    """
    if "history" not in split.column_names:
        raise ValueError(f"the split lacks the column 'history'; it has {split.column_names}")
    values, lengths = history_arrays(split.select_columns(["history"]).with_format("arrow")[:])
    rows = np.flatnonzero(lengths > 0)
    latest = values[np.cumsum(lengths)[rows] - 1]  # [rows with a history]
    outside = (latest < 0) | (latest >= num_items)
    if outside.any():
        first = int(np.argmax(outside))
        raise ValueError(f"row {int(rows[first])} ends its history with item {int(latest[first])}, outside 0..{num_items - 1}")
    return torch.bincount(torch.from_numpy(latest), minlength=num_items)


def transition_counts(split: Dataset, num_items: int, gap_decay: float = 0.0) -> torch.Tensor:
    """How often item ``j`` followed item ``i`` in ``split``: a sparse (coalesced COO) tensor ``[num_items,
    num_items]``, row = the previous item, column = the next.

    Every row with a history contributes its last history item and its target: the leave-one-out train split has one
    row per prefix of a user's training sequence, so that is every consecutive pair of it, once; no held-out item is
    counted. With ``gap_decay`` g in ``(0, 1)`` the row's earlier history items pair with its target too, the item
    ``d`` places before it weighing ``g ** (d - 1)``: ``j`` bought two purchases after ``i`` says less than right
    after it, but more than nothing. Counts are int64 with g = 0 (direct successors only), float64 otherwise.

    Raises:
        ValueError: naming the row and value of an item index outside ``0 .. num_items-1``, a missing column, or a
            ``gap_decay`` outside ``[0, 1)``.
    """
    return _coalesced_tensor(_transition_table(split, num_items, gap_decay))


def _transition_table(split: Dataset, num_items: int, gap_decay: float) -> scipy.sparse.csr_array:
    """:func:`transition_counts` as a ``[num_items, num_items]`` CSR array (pairs summed; made canonical where it is
    turned into a tensor, :func:`_coalesced_tensor`)."""
    if not 0 <= gap_decay < 1:
        raise ValueError(f"`gap_decay` must be in [0, 1), got {gap_decay!r}.")
    missing = {"history", "target"} - set(split.column_names)
    if missing:
        raise ValueError(f"the split lacks column(s) {sorted(missing)}; it has {split.column_names}")
    table = split.select_columns(["history", "target"]).with_format("arrow")[:]
    dtype = np.int64 if gap_decay == 0 else np.float64
    partial_sums: list[tuple[int, scipy.sparse.csr_array]] = []  # (rows summed, their counts), sizes halving
    for start in range(0, len(table), ROWS_PER_CHUNK):
        chunk = table.slice(start, ROWS_PER_CHUNK)
        counts = _chunk_transitions(chunk, start, num_items, gap_decay, dtype)
        rows = len(chunk)
        # Binary-counter merging: each sum meets one of its own size, so the total work is O(n log n), not O(n^2).
        while partial_sums and partial_sums[-1][0] <= rows:
            merged_rows, merged = partial_sums.pop()
            counts, rows = merged + counts, merged_rows + rows
        partial_sums.append((rows, counts))
    total = scipy.sparse.csr_array((num_items, num_items), dtype=dtype)
    for _, counts in reversed(partial_sums):
        total = total + counts
    return total


def _coalesced_tensor(table: scipy.sparse.csr_array) -> torch.Tensor:
    """A CSR array as a coalesced sparse COO tensor: made canonical first (duplicates summed, columns sorted in every
    row), its row-major order is coalesced order. The indices are written straight into one int64 ``[2, nnz]`` array:
    tens of millions of pairs on MovieLens-10M."""
    table.sum_duplicates()
    pairs = np.empty((2, table.nnz), dtype=np.int64)
    pairs[0] = np.repeat(np.arange(table.shape[0]), np.diff(table.indptr))
    pairs[1] = table.indices
    return torch.sparse_coo_tensor(
        torch.from_numpy(pairs), torch.from_numpy(table.data), table.shape, is_coalesced=True, check_invariants=True
    )


def _chunk_transitions(chunk, first_row: int, num_items: int, gap_decay: float, dtype) -> scipy.sparse.csr_array:
    """:func:`transition_counts` of the rows of one Arrow ``chunk`` (``first_row`` its first row's number in the split,
    for errors), summed per pair, as a ``[num_items, num_items]`` CSR array."""
    values, lengths = history_arrays(chunk)
    targets = chunk.column("target").to_numpy().astype(np.int64)
    value_rows = np.repeat(np.arange(len(targets)), lengths)  # [values]: the row of each history item
    gaps = np.cumsum(lengths)[value_rows] - np.arange(len(values))  # [values]: 1 for each row's last history item
    if gap_decay == 0:  # direct successors, counted as integers
        paired = np.flatnonzero(gaps == 1)
        weights = np.ones(len(paired), dtype=dtype)
    else:
        paired = np.arange(len(values))
        weights = gap_decay ** (gaps - 1.0)
    rows, previous = value_rows[paired], values[paired]
    following = targets[rows]
    outside = (previous < 0) | (previous >= num_items) | (following < 0) | (following >= num_items)
    if outside.any():
        first = int(np.argmax(outside))
        raise ValueError(
            f"row {first_row + int(rows[first])} pairs items {int(previous[first])} -> {int(following[first])}, "
            f"outside 0..{num_items - 1}"
        )
    # COO -> CSR sums the duplicate pairs.
    return scipy.sparse.coo_array((weights, (previous, following)), shape=(num_items, num_items)).tocsr()


# The splits whose rows were observed before each split's targets (leave-one-out: validation targets precede test ones).
OBSERVED_BEFORE = {"validation": ("train",), "test": ("train", "validation")}


def decoding_counts(splits, num_items: int, split: str, transition_gap_decay: float = 0.0) -> dict[str, torch.Tensor]:
    """The counts the decoding priors read, as of the targets of ``split`` (``"validation"`` or ``"test"``):
    ``item_counts`` (training interactions: the popularity the model was trained with), ``recent_counts`` (how often
    each item is the newest history item of a row of ``split``: users' newest interaction before those targets) and
    ``transition_counts`` (every pair of the rows observed before them: the train rows, and the validation rows when
    ``split`` is test, whose targets the test histories hold; ``transition_gap_decay`` is
    :func:`transition_counts`' ``gap_decay``). Keys as ``build_small_model`` takes them."""
    if split not in OBSERVED_BEFORE:
        raise ValueError(f"`split` must be one of {sorted(OBSERVED_BEFORE)}, got {split!r}.")
    first, *others = (
        _transition_table(splits[name], num_items, transition_gap_decay) for name in OBSERVED_BEFORE[split]
    )
    transitions = sum(others, start=first)
    return {
        "item_counts": interaction_counts(splits["train"], num_items),
        "recent_counts": latest_interaction_counts(splits[split], num_items),
        "transition_counts": _coalesced_tensor(transitions),
    }


class PopularityRecommender:
    """Ranks every user's candidates by global interaction count, ties by lower item index.

    Args:
        item_counts: ``[num_items]`` non-negative counts (e.g. from :func:`interaction_counts`).
    """

    def __init__(self, item_counts: torch.Tensor | Sequence[int]):
        counts = torch.as_tensor(item_counts, dtype=torch.int64)
        if counts.ndim != 1 or counts.numel() == 0:
            raise ValueError(f"item_counts must be a non-empty 1-D vector, got shape {tuple(counts.shape)}")
        if (counts < 0).any():
            item = int(torch.nonzero(counts < 0)[0])
            raise ValueError(f"item_counts must be >= 0; item {item} has count {int(counts[item])}")
        self.item_counts = counts
        # Stable sort on -count puts equal counts in increasing item order: the documented tie-break.
        self.ranking = torch.sort(-counts, stable=True).indices  # [num_items], most popular first
        # Distinct scores that encode that order, so top_k_items never meets a tie.
        # float32 holds the integers exactly up to 2**24 items.
        self._scores = torch.empty(counts.numel(), dtype=torch.float32)
        self._scores[self.ranking] = -torch.arange(counts.numel(), dtype=torch.float32)

    @classmethod
    def from_train_split(cls, train: Dataset, num_items: int) -> PopularityRecommender:
        """Count interactions in ``train`` (see :func:`interaction_counts`) and build the recommender."""
        counts = interaction_counts(train, num_items)
        logger.info("popularity: %d interactions over %d items", int(counts.sum()), num_items)
        return cls(counts)

    @property
    def num_items(self) -> int:
        return self.item_counts.numel()

    def recommend(
        self,
        histories: Sequence[Sequence[int]],
        k: int,
        exclude_history: bool = False,
        batch_size: int = 1024,
    ) -> torch.Tensor:
        """Top-``k`` items per user.

        Args:
            histories: one item-index list per user (only read when ``exclude_history``).
            k: list length, ``1 <= k <= num_items``.
            exclude_history: drop items already in the user's history.
            batch_size: users per ``[batch_size, num_items]`` score block (bounds memory).

        Returns:
            LongTensor ``[len(histories), k]``; ``-1`` fills slots when fewer than ``k`` items remain.
        """
        if not 1 <= k <= self.num_items:
            raise ValueError(f"k must be in 1..{self.num_items} (the catalogue size), got {k}")
        if not exclude_history:
            return self.ranking[:k].unsqueeze(0).expand(len(histories), k).clone()
        blocks = [torch.empty(0, k, dtype=torch.int64)]
        for start in range(0, len(histories), batch_size):
            chunk = histories[start : start + batch_size]
            scores = self._scores.unsqueeze(0).expand(len(chunk), -1)
            blocks.append(
                top_k_items(scores, k, exclude=history_mask(chunk, self.num_items, first_row=start))
            )
        return torch.cat(blocks)


__all__ = [
    "OBSERVED_BEFORE",
    "PopularityRecommender",
    "decoding_counts",
    "interaction_counts",
    "latest_interaction_counts",
    "transition_counts",
]
