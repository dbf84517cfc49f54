"""Leave-one-out splits: user sequences of item indices -> train / validation / test rows."""

from __future__ import annotations

import hashlib
import itertools
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from datasets import Dataset, DatasetDict, DatasetInfo, Features, List, Value
from datasets.table import InMemoryTable

SPLIT_NAMES = ("train", "validation", "test")
MIN_SEQUENCE_LENGTH = 3  # one training target, one validation target, one test target

SPLIT_FEATURES = Features(
    {
        "user_id": Value("string"),
        "history": List(Value("int64")),
        "target": Value("int64"),
    }
)


@dataclass(frozen=True)
class UserSequence:
    """One user's chronological interactions as item indices (``items[i]`` in ``0 .. num_items-1``)."""

    user_id: str
    items: list[int]


def sequences_from_events(
    user_ids: Sequence[str], users: np.ndarray, times: np.ndarray, items: np.ndarray
) -> list[UserSequence]:
    """Each user's events as a chronological sequence. The events are columns, as large files need (a tuple per event
    costs ~100 bytes): event ``e`` is user ``user_ids[users[e]]`` taking item ``items[e]`` at ``times[e]`` (all
    ``[events]``). Users in ``user_ids`` order (one without events gets an empty sequence); the sort is stable, so
    equal times keep event order (events without times, all 0, keep it whole)."""
    order = np.lexsort((np.arange(len(users)), times, users))  # by user, then time, then event order
    counts = np.bincount(users, minlength=len(user_ids))
    per_user = np.split(np.asarray(items)[order], np.cumsum(counts)[:-1])
    return [UserSequence(user_id, chunk.tolist()) for user_id, chunk in zip(user_ids, per_user, strict=True)]


class EventLog:
    """Interactions as a loader reads them, one at a time, kept in typed arrays (a tuple per interaction costs ~100
    bytes; MovieLens-20M has 20M). Users are indexed in order of their first event.

    Args:
        time_typecode: the :mod:`array` typecode of the times: ``"q"`` (int64, exact for integer timestamps) or
            ``"d"`` (float64).
    """

    def __init__(self, time_typecode: str = "d"):
        if time_typecode not in ("q", "d"):
            raise ValueError(f"time_typecode must be 'q' or 'd', got {time_typecode!r}")
        self._user_index: dict[str, int] = {}
        self._users, self._times, self._items = array("q"), array(time_typecode), array("q")

    def add(self, user_id: str, time: float, item: int) -> None:
        """Record that ``user_id`` took item index ``item`` at ``time``."""
        self._times.append(time)
        self._items.append(item)
        self._users.append(self._user_index.setdefault(user_id, len(self._user_index)))

    def sequences(self) -> list[UserSequence]:
        """Each user's items by time (:func:`sequences_from_events`), users in order of first event."""
        return sequences_from_events(
            list(self._user_index),
            np.frombuffer(self._users, dtype=np.int64),
            np.frombuffer(self._times, dtype=np.int64 if self._times.typecode == "q" else np.float64),
            np.frombuffer(self._items, dtype=np.int64),
        )


def history_arrays(table) -> tuple[np.ndarray, np.ndarray]:
    """Every history item of an Arrow ``table``'s ``history`` column, row after row ``[values]``, and each row's
    history length ``[rows]`` (both int64), read column-wise (row by row took ~10 s on full Beauty)."""
    column = table.column("history")
    # One chunk (leave_one_out's splits below 2^31 history items) is read in place: combine_chunks would copy it, and
    # the trainer keeps these arrays beside the split for all of training (~3 GB at MovieLens-20M's size).
    histories = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    values = np.asarray(histories.flatten().to_numpy(zero_copy_only=False), dtype=np.int64)
    lengths = np.asarray(histories.value_lengths().to_numpy(zero_copy_only=False), dtype=np.int64)
    return values, lengths


# Rows are built a piece at a time, each with at most this many history items, so that the per-item index arrays
# stay small (~128 MB each) however many interactions the data has; the pieces fill one array of history items.
HISTORY_VALUES_PER_CHUNK = 1 << 24
# An Arrow list array's int32 offsets address at most this many values: a split with more history items is stored
# as several chunks of the column (each a view of the one array).
MAX_LIST_VALUES = (1 << 31) - 1


def leave_one_out(sequences: Sequence[UserSequence], max_history: int | None = None) -> DatasetDict:
    """Build the three splits. Every sequence must hold at least ``MIN_SEQUENCE_LENGTH`` items.

    For a sequence ``x_0 .. x_{L-1}``: test row = (``x_0..x_{L-2}``, ``x_{L-1}``), validation row =
    (``x_0..x_{L-3}``, ``x_{L-2}``), and one train row per target position ``p = 1 .. L-3`` with
    history ``x_0..x_{p-1}``. Histories keep only their last ``max_history`` items (``None`` = all).
    Rows appear user by user in ``sequences`` order, train rows by target position.

    The columns are built as Arrow arrays from one flat array of every interaction (no Python list per row), so
    memory stays near the size of the splits themselves: MovieLens-10M's 10M ratings fit where a list per row did not.
    """
    if max_history is not None and max_history < 1:
        raise ValueError(f"max_history must be >= 1 or None, got {max_history}")
    lengths = np.fromiter((len(sequence.items) for sequence in sequences), dtype=np.int64, count=len(sequences))
    short = np.flatnonzero(lengths < MIN_SEQUENCE_LENGTH)
    if len(short):
        sequence = sequences[int(short[0])]
        raise ValueError(
            f"user {sequence.user_id!r} has {len(sequence.items)} items; leave-one-out needs at least {MIN_SEQUENCE_LENGTH}"
        )
    items = np.fromiter(
        itertools.chain.from_iterable(sequence.items for sequence in sequences), dtype=np.int64, count=int(lengths.sum())
    )
    starts = np.cumsum(lengths) - lengths  # [users]: each user's first interaction in `items`
    user_ids = pa.array([sequence.user_id for sequence in sequences], type=pa.string())

    train_counts = lengths - 3  # targets at positions 1 .. L-3
    train_users = np.repeat(np.arange(len(sequences)), train_counts)
    train_positions = 1 + np.arange(len(train_users)) - np.repeat(np.cumsum(train_counts) - train_counts, train_counts)
    every_user = np.arange(len(sequences))
    targets = {  # split -> (each row's user, each row's target index in `items`)
        "train": (train_users, starts[train_users] + train_positions),
        "validation": (every_user, starts + lengths - 2),
        "test": (every_user, starts + lengths - 1),
    }
    return DatasetDict(
        {
            name: _split_rows(items, starts[users], target_index, user_ids.take(users), max_history)
            for name, (users, target_index) in targets.items()
        }
    )


def _split_rows(
    items: np.ndarray, firsts: np.ndarray, target_index: np.ndarray, user_ids: pa.Array, max_history: int | None
) -> Dataset:
    """One split: row ``r`` has target ``items[target_index[r]]`` and history ``items[max(firsts[r], target_index[r] -
    max_history) : target_index[r]]``, ``firsts [rows]`` being its user's first interaction; ``user_ids [rows]``."""
    begins = firsts if max_history is None else np.maximum(firsts, target_index - max_history)
    sizes = target_index - begins  # [rows] history lengths
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    values = np.empty(int(offsets[-1]), dtype=np.int64)  # every row's history items, row after row
    for low, high in _row_ranges(offsets, HISTORY_VALUES_PER_CHUNK):
        # Row r's j-th history item is items[begins[r] + j].
        index = np.arange(offsets[low], offsets[high]) + np.repeat(begins[low:high] - offsets[low:high], sizes[low:high])
        values[offsets[low] : offsets[high]] = items[index]
    histories = [
        # Each chunk's items are a view of `values` (pa.array reads a NumPy array in place), not a copy.
        pa.ListArray.from_arrays(
            pa.array((offsets[low : high + 1] - offsets[low]).astype(np.int32)),
            pa.array(values[offsets[low] : offsets[high]]),
        )
        for low, high in _row_ranges(offsets, MAX_LIST_VALUES)
    ]
    columns = {
        "user_id": user_ids,
        # A split without rows still gets one (empty) chunk: datasets cannot type a column of none.
        "history": pa.chunked_array(histories or [pa.array([], type=pa.list_(pa.int64()))], type=pa.list_(pa.int64())),
        "target": pa.array(items[target_index]),
    }
    table = InMemoryTable(pa.table(columns, schema=SPLIT_FEATURES.arrow_schema))
    fingerprint = _fingerprint(items, firsts, target_index, user_ids, max_history)
    return Dataset(table, info=DatasetInfo(features=SPLIT_FEATURES), fingerprint=fingerprint)


def _row_ranges(offsets: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive row ranges ``[(low, high), ...]`` covering ``len(offsets) - 1`` rows, each holding at most ``budget``
    history items (or one row, when a row alone holds more), from the rows' item ``offsets [rows + 1]``."""
    ranges, low, rows = [], 0, len(offsets) - 1
    while low < rows:
        # The last row whose items end within the budget from this range's first item (at least one row).
        high = max(low + 1, int(np.searchsorted(offsets[1:], offsets[low] + budget, side="right")))
        ranges.append((low, high))
        low = high
    return ranges


def _fingerprint(
    items: np.ndarray, firsts: np.ndarray, target_index: np.ndarray, user_ids: pa.Array, max_history: int | None
) -> str:
    """The split's ``datasets`` fingerprint, from what defines its rows. Given, because ``datasets`` would otherwise
    hash the whole table (a pickled copy of it: +1.6 GB at its peak on 2.7M ratings)."""
    digest = hashlib.blake2b(f"leave_one_out:{max_history}".encode(), digest_size=8)
    for column in (items, firsts, target_index):
        digest.update(np.ascontiguousarray(column, dtype=np.int64).tobytes())
    for buffer in user_ids.buffers():
        if buffer is not None:
            digest.update(buffer)
    return digest.hexdigest()


@dataclass(frozen=True)
class SplitColumns:
    """A split's columns as arrays, read column-wise: no Python object per row, which on tens of millions of training
    rows costs gigabytes (a list per history). Row ``r``'s history is ``history_values[history_offsets[r] :
    history_offsets[r + 1]]``.

    Attributes:
        user_ids: ``[rows]`` Arrow strings.
        history_values: ``[values]`` int64, every row's history items, row after row.
        history_offsets: ``[rows + 1]`` int64.
        targets: ``[rows]`` int64.
    """

    user_ids: pa.Array
    history_values: np.ndarray
    history_offsets: np.ndarray
    targets: np.ndarray

    @classmethod
    def of(cls, split: Dataset) -> SplitColumns:
        """The columns of a leave-one-out split (``user_id``, ``history``, ``target``)."""
        missing = {"user_id", "history", "target"} - set(split.column_names)
        if missing:
            raise ValueError(f"the split lacks column(s) {sorted(missing)}; it has {split.column_names}")
        table = split.select_columns(["user_id", "history", "target"]).with_format("arrow")[:]
        values, lengths = history_arrays(table)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(
            user_ids=table.column("user_id").combine_chunks(),
            history_values=values,
            history_offsets=offsets,
            targets=np.asarray(table.column("target").to_numpy(), dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.targets)

    def row(self, index: int) -> dict[str, Any]:
        """Row ``index`` as the split's own ``{"user_id", "history", "target"}`` dict (Python values)."""
        history = self.history_values[self.history_offsets[index] : self.history_offsets[index + 1]]
        return {"user_id": self.user_ids[index].as_py(), "history": history.tolist(), "target": int(self.targets[index])}
