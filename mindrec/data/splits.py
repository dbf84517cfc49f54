"""Leave-one-out splits: user sequences of item indices -> train / validation / test rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from datasets import Dataset, DatasetDict, Features, List, Value

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


def time_ordered_sequences(events: dict[str, list[tuple[float, int]]]) -> list[UserSequence]:
    """Each user's ``(timestamp, item index)`` events as a chronological sequence, users in the dict's order. The sort
    is stable, so equal times keep the order the events were read in (events without times, all 0, keep it whole)."""
    return [
        UserSequence(user_id, [item for _, item in sorted(user_events, key=lambda event: event[0])])
        for user_id, user_events in events.items()
    ]


def leave_one_out(sequences: Sequence[UserSequence], max_history: int | None = None) -> DatasetDict:
    """Build the three splits. Every sequence must hold at least ``MIN_SEQUENCE_LENGTH`` items.

    For a sequence ``x_0 .. x_{L-1}``: test row = (``x_0..x_{L-2}``, ``x_{L-1}``), validation row =
    (``x_0..x_{L-3}``, ``x_{L-2}``), and one train row per target position ``p = 1 .. L-3`` with
    history ``x_0..x_{p-1}``. Histories keep only their last ``max_history`` items (``None`` = all).
    Rows appear user by user in ``sequences`` order, train rows by target position.
    """
    if max_history is not None and max_history < 1:
        raise ValueError(f"max_history must be >= 1 or None, got {max_history}")
    start = 0 if max_history is None else -max_history
    columns = {name: {"user_id": [], "history": [], "target": []} for name in SPLIT_NAMES}

    def add(split: str, user_id: str, history: list[int], target: int) -> None:
        columns[split]["user_id"].append(user_id)
        columns[split]["history"].append(history[start:] if start else history)
        columns[split]["target"].append(target)

    for sequence in sequences:
        items, length = sequence.items, len(sequence.items)
        if length < MIN_SEQUENCE_LENGTH:
            raise ValueError(
                f"user {sequence.user_id!r} has {length} items; leave-one-out needs at least {MIN_SEQUENCE_LENGTH}"
            )
        for position in range(1, length - 2):
            add("train", sequence.user_id, items[:position], items[position])
        add("validation", sequence.user_id, items[: length - 2], items[length - 2])
        add("test", sequence.user_id, items[: length - 1], items[length - 1])

    return DatasetDict(
        {name: Dataset.from_dict(columns[name], features=SPLIT_FEATURES) for name in SPLIT_NAMES}
    )
