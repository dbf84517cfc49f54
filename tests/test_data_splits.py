"""Leave-one-out splits, user/catalogue policies, PreparedData validation and save/load round trips."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mindrec.data import (
    InteractionData,
    ItemCatalogue,
    ItemRecord,
    PreparedData,
    UserSequence,
    leave_one_out,
    load_prepared,
)


def rows(dataset):
    return list(zip(dataset["user_id"], dataset["history"], dataset["target"], strict=True))


def make_data(sid_codes=None) -> InteractionData:
    catalogue = ItemCatalogue()
    for index in range(7):
        catalogue.add(
            ItemRecord(f"i{index}", title=f"T{index}", categories=("Root", f"C{index % 2}")), "test"
        )
    sequences = [
        UserSequence("alice", [0, 1, 2, 3, 4]),
        UserSequence("bob", [4, 2]),  # too short: skipped
        UserSequence("carol", [5, 1, 5]),
        UserSequence("dave", [2, 3, 4, 0]),
    ]
    return InteractionData("toy", catalogue, sequences, sid_codes=sid_codes)


def test_leave_one_out_exact_rows_full_history():
    splits = leave_one_out([UserSequence("u", [10, 11, 12, 13, 14]), UserSequence("v", [7, 8, 9])])
    assert rows(splits["train"]) == [("u", [10], 11), ("u", [10, 11], 12)]
    assert rows(splits["validation"]) == [("u", [10, 11, 12], 13), ("v", [7], 8)]
    assert rows(splits["test"]) == [("u", [10, 11, 12, 13], 14), ("v", [7, 8], 9)]


def test_leave_one_out_truncates_to_last_items():
    splits = leave_one_out([UserSequence("u", [10, 11, 12, 13, 14, 15])], max_history=2)
    assert rows(splits["train"]) == [("u", [10], 11), ("u", [10, 11], 12), ("u", [11, 12], 13)]
    assert rows(splits["validation"]) == [("u", [12, 13], 14)]
    assert rows(splits["test"]) == [("u", [13, 14], 15)]


def test_leave_one_out_rejects_short_sequences_and_bad_max_history():
    with pytest.raises(ValueError, match="user 'u' has 2 items; leave-one-out needs at least 3"):
        leave_one_out([UserSequence("u", [1, 2])])
    with pytest.raises(ValueError, match="max_history must be >= 1 or None, got 0"):
        leave_one_out([UserSequence("u", [1, 2, 3])], max_history=0)


def test_to_prepared_skips_short_users_and_keeps_full_catalogue(caplog):
    with caplog.at_level(logging.WARNING, logger="mindrec.data.build"):
        prepared = make_data().to_prepared()
    assert "skipped 1 of 4 users with fewer than 3 interactions" in caplog.text
    assert prepared.statistics() == {
        "users": 3,
        "items": 7,
        "interactions": 12,
        "train_rows": 3,
        "validation_rows": 3,
        "test_rows": 3,
    }
    assert prepared.splits["test"]["user_id"] == ["alice", "carol", "dave"]
    assert prepared.item_ids == [f"i{i}" for i in range(7)]


def test_max_users_counts_only_eligible_users_in_order(caplog):
    with caplog.at_level(logging.WARNING, logger="mindrec.data.build"):
        prepared = make_data().to_prepared(max_users=2, max_history=1)
    assert rows(prepared.splits["test"]) == [("alice", [3], 4), ("carol", [1], 5)]
    assert prepared.num_items == 7
    # The users it leaves out are named in a warning; a cut above the number of users leaves none out, silently.
    assert "toy: max_users=2 keeps the first 2 of 3 users; the other 1 are left out (max_users None keeps all)" in (
        caplog.messages
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mindrec.data.build"):
        make_data().to_prepared(max_users=3)
    assert not [message for message in caplog.messages if "max_users" in message]


def test_drop_unused_items_renumbers_items_and_codes():
    codes = np.arange(14).reshape(7, 2)
    prepared = make_data(sid_codes=codes).to_prepared(max_users=2, keep_unused_items=False)
    # alice and carol use items 0..5; item 6 (and nothing else) is dropped, order kept.
    assert prepared.item_ids == ["i0", "i1", "i2", "i3", "i4", "i5"]
    assert rows(prepared.splits["test"]) == [("alice", [0, 1, 2, 3], 4), ("carol", [5, 1], 5)]
    np.testing.assert_array_equal(prepared.sid_codes, codes[:6])


def test_duplicate_user_and_bad_max_users_are_errors():
    data = make_data()
    data.sequences.append(UserSequence("alice", [1, 2, 3]))
    with pytest.raises(ValueError, match="toy: user 'alice' appears twice"):
        data.to_prepared()
    with pytest.raises(ValueError, match="max_users must be >= 1 or None, got 0"):
        make_data().to_prepared(max_users=0)


def test_prepared_data_validates_indices_and_codes():
    good = make_data().to_prepared()
    with pytest.raises(
        ValueError, match="split 'validation' column 'history' holds item index 5, outside 0 .. 0"
    ):
        PreparedData(leave_one_out([UserSequence("u", [5, 0, 0])]), good.items.select(range(1)), "bad")
    bad_splits = leave_one_out([UserSequence("u", [0, 1, 9])])
    with pytest.raises(ValueError, match="column 'target' holds item index 9, outside 0 .. 6"):
        PreparedData(bad_splits, good.items, "bad")
    with pytest.raises(
        ValueError,
        match=r"sid_codes must be an integer array \[num_items=7, n_digits\], got float64 \(7, 2\)",
    ):
        PreparedData(good.splits, good.items, "bad", sid_codes=np.zeros((7, 2)))


def test_save_and_load_round_trip(tmp_path):
    codes = np.arange(21, dtype=np.int64).reshape(7, 3)
    prepared = make_data(sid_codes=codes).to_prepared(max_history=2)
    prepared.save_to_disk(tmp_path / "out")
    loaded = load_prepared(tmp_path / "out")
    assert loaded.name == "toy"
    assert loaded.statistics() == prepared.statistics()
    for split in ("train", "validation", "test"):
        assert loaded.splits[split].to_dict() == prepared.splits[split].to_dict()
    assert loaded.items.to_dict() == prepared.items.to_dict()
    np.testing.assert_array_equal(loaded.sid_codes, codes)
    assert loaded.sid_codes.dtype == np.int64

    # overwrite=False (the default) refuses; overwrite=True replaces a previous prepared folder in one piece.
    with pytest.raises(FileExistsError, match="already exists"):
        prepared.save_to_disk(tmp_path / "out")
    make_data().to_prepared().save_to_disk(tmp_path / "out", overwrite=True)
    assert load_prepared(tmp_path / "out").sid_codes is None
    assert not (tmp_path / "out" / "sid_codes.npy").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folders left behind


def test_load_prepared_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a prepared dataset folder: prepared.json not found"):
        load_prepared(tmp_path)
    make_data().to_prepared().save_to_disk(tmp_path / "out")
    meta = tmp_path / "out" / "prepared.json"
    meta.write_text(meta.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ValueError, match="format_version 99 is not supported"):
        load_prepared(tmp_path / "out")


def reference_leave_one_out_rows(sequences, max_history):
    """The splits' rows written out one by one, as the definition in `leave_one_out`'s docstring reads."""
    def cut(history):
        return history if max_history is None else history[-max_history:]

    out = {"train": [], "validation": [], "test": []}
    for sequence in sequences:
        items = sequence.items
        for position in range(1, len(items) - 2):
            out["train"].append((sequence.user_id, cut(items[:position]), items[position]))
        out["validation"].append((sequence.user_id, cut(items[:-2]), items[-2]))
        out["test"].append((sequence.user_id, cut(items[:-1]), items[-1]))
    return out


@pytest.mark.parametrize("max_history", [None, 1, 3, 7])
@pytest.mark.parametrize("list_budget", [None, 7])
def test_leave_one_out_rows_equal_the_definition_across_pieces_and_chunks(monkeypatch, max_history, list_budget):
    # Rows are built 5 history items at a time (cutting between users' rows); with a budget of 7 items per Arrow list
    # chunk (2^31 - 1 in the package) the column is split into many chunks too, each within the budget.
    monkeypatch.setattr("mindrec.data.splits.HISTORY_VALUES_PER_CHUNK", 5)
    if list_budget is not None:
        monkeypatch.setattr("mindrec.data.splits.MAX_LIST_VALUES", list_budget)
    rng = np.random.default_rng(0)
    sequences = [
        UserSequence(f"user{u}", rng.integers(0, 50, size=int(rng.integers(3, 12))).tolist()) for u in range(40)
    ]
    splits = leave_one_out(sequences, max_history=max_history)
    expected = reference_leave_one_out_rows(sequences, max_history)
    chunks = splits["train"].data.column("history").chunks
    if list_budget is None:
        assert len(chunks) == 1
    else:
        assert len(chunks) > 10
        assert all(len(chunk.flatten()) <= list_budget or len(chunk) == 1 for chunk in chunks)
    for name in ("train", "validation", "test"):
        assert rows(splits[name]) == expected[name]
        assert splits[name].features == leave_one_out([UserSequence("u", [1, 2, 3])])[name].features


def test_leave_one_out_without_train_rows_keeps_typed_columns():
    splits = leave_one_out([UserSequence("u", [5, 0, 0])])
    assert len(splits["train"]) == 0
    assert splits["train"].features["history"] == splits["test"].features["history"]
    assert rows(splits["test"]) == [("u", [5, 0], 0)]


def test_sequences_from_events_sort_each_user_stably_by_time():
    from mindrec.data.splits import sequences_from_events

    rng = np.random.default_rng(1)
    users, times, items = rng.integers(0, 6, 200), rng.integers(0, 5, 200), rng.integers(0, 30, 200)  # many ties
    user_ids = [f"u{index}" for index in range(7)]  # u6 has no events
    events = {user_id: [] for user_id in user_ids}
    for user, time, item in zip(users.tolist(), times.tolist(), items.tolist(), strict=True):
        events[user_ids[user]].append((time, item))
    expected = [  # Python's sort is stable: equal times keep event order
        UserSequence(user, [item for _, item in sorted(user_events, key=lambda event: event[0])])
        for user, user_events in events.items()
    ]
    assert sequences_from_events(user_ids, users, times, items) == expected
    assert sequences_from_events(user_ids, users, times, items)[6] == UserSequence("u6", [])


def test_split_columns_give_back_every_row():
    from mindrec.data.splits import SplitColumns

    sequences = [UserSequence("u", [10, 11, 12, 13, 14, 15]), UserSequence("v", [7, 8, 9]), UserSequence("w", [1, 2, 3, 4])]
    splits = leave_one_out(sequences, max_history=2)
    for name in ("train", "validation", "test"):
        columns = SplitColumns.of(splits[name])
        assert len(columns) == len(splits[name])
        assert [columns.row(index) for index in range(len(columns))] == list(splits[name])
        assert np.diff(columns.history_offsets).tolist() == [len(history) for history in splits[name]["history"]]
    with pytest.raises(ValueError, match=r"the split lacks column\(s\) \['user_id'\]"):
        SplitColumns.of(splits["test"].remove_columns("user_id"))


@pytest.mark.parametrize("list_budget", [None, 4])
def test_split_columns_read_a_one_chunk_split_in_place(monkeypatch, list_budget):
    # The trainer keeps these arrays for all of training: a split in one Arrow chunk is not copied (two readings share
    # its memory); one in several chunks is combined into a copy, which gives the same rows.
    from mindrec.data.splits import SplitColumns

    if list_budget is not None:
        monkeypatch.setattr("mindrec.data.splits.MAX_LIST_VALUES", list_budget)
    splits = leave_one_out([UserSequence("u", list(range(10, 19))), UserSequence("v", [7, 8, 9, 4, 5])], max_history=3)
    first, second = SplitColumns.of(splits["train"]), SplitColumns.of(splits["train"])
    assert np.shares_memory(first.history_values, second.history_values) is (list_budget is None)
    assert [first.row(index) for index in range(len(first))] == list(splits["train"])


def test_event_log_orders_each_users_items_by_time_exactly():
    from mindrec.data.splits import EventLog, sequences_from_events

    events = [("b", 2**53 + 1, 7), ("a", 5, 1), ("b", 2**53, 8), ("a", 5, 2), ("a", 3, 0)]
    log = EventLog(time_typecode="q")
    for user, time, item in events:
        log.add(user, time, item)
    # Integer times stay exact (2**53 and 2**53 + 1 are one float64); equal times keep their order of arrival.
    assert log.sequences() == [UserSequence("b", [8, 7]), UserSequence("a", [0, 1, 2])]
    floats = EventLog()
    for user, time, item in events:
        floats.add(user, float(time), item)
    users = np.array([0, 1, 0, 1, 1])
    times = np.array([float(time) for _, time, _ in events])
    assert floats.sequences() == sequences_from_events(["b", "a"], users, times, np.array([7, 1, 8, 2, 0]))
    with pytest.raises(ValueError, match="time_typecode must be 'q' or 'd', got 'f'"):
        EventLog(time_typecode="f")
