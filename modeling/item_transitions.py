"""The items' training transitions (how often item j followed item i: directly, or also later when the counts were
taken with a gap decay), as the decoding options ``transition_adjustment`` / ``transition_decay`` of MindRec's retrieval
head and of SASRec read them: a compressed sparse row table kept in three buffers, and the weighted rows a batch of
histories needs.

Remote code: imports only torch.
"""

import torch
from torch import nn


def transition_table(
    transition_counts: torch.Tensor, num_items: int
) -> tuple[torch.LongTensor, torch.LongTensor, torch.FloatTensor]:
    """A ``[num_items, num_items]`` count matrix (dense or sparse; row = previous item, column = next item) as a
    compressed sparse row table: ``offsets [num_items + 1]``, ``next_items [T]`` and ``log(1 + count) [T]`` (fp32)
    of the T pairs with a count above 0, row by row. Counts must be finite and >= 0."""
    if tuple(transition_counts.shape) != (num_items, num_items):
        raise ValueError(
            f"`transition_counts` must be [{num_items}, {num_items}] (previous item x next item), "
            f"got {list(transition_counts.shape)}."
        )
    counts = transition_counts.to_sparse_coo() if transition_counts.layout != torch.sparse_coo else transition_counts
    counts = counts.coalesce()
    pairs, values = counts.indices(), counts.values().double()
    bad = ~torch.isfinite(values) | (values < 0)
    if bool(bad.any()):
        previous, following = (int(i) for i in pairs[:, bad.nonzero()[0, 0]])
        raise ValueError(
            f"`transition_counts` must be finite and >= 0; pair {previous} -> {following} has "
            f"{values[bad][0].item()}."
        )
    kept = values > 0
    pairs, values = pairs[:, kept], values[kept]  # coalesced: sorted by row, then column
    offsets = torch.zeros(num_items + 1, dtype=torch.long)
    offsets[1:] = torch.bincount(pairs[0], minlength=num_items).cumsum(0)
    return offsets, pairs[1].clone(), torch.log1p(values).float()


def install_transition_table(model: nn.Module, transition_counts: torch.Tensor) -> None:
    """Replace ``model``'s ``item_transition_offsets`` / ``_items`` / ``_log_counts`` buffers by the
    :func:`transition_table` of ``transition_counts`` (on the buffers' device) and set
    ``model.config.num_item_transitions`` to its size, so that a saved model loads it. MindRec's retrieval head and
    SASRec keep the table alike."""
    offsets, next_items, log_counts = transition_table(transition_counts, model.config.num_items)
    device = model.item_transition_offsets.device
    model.item_transition_offsets = offsets.to(device)
    model.item_transition_items = next_items.to(device)
    model.item_transition_log_counts = log_counts.to(device)
    model.config.num_item_transitions = int(next_items.numel())


def transition_rows(
    model: nn.Module, previous_items: torch.LongTensor, weights: torch.Tensor, conditioning: float = 0.0
) -> torch.FloatTensor:
    """Weighted sums of rows of ``model``'s table (see :func:`install_transition_table`): ``[N, num_items]`` (fp32)
    with ``sum_h weights[n, h] * log(1 + count of each item right after previous_items[n, h])``, over
    ``previous_items [N, H]`` (-1 = no item there) and ``weights [N, H]``. With ``conditioning`` p > 0 each count
    is first scaled by :func:`successor_scales` (``(mean successor count / the previous item's) ** p``). Offsets
    that are None or -1 mean the table was never set, which the error names."""
    offsets = getattr(model, "item_transition_offsets", None)
    if offsets is None or int(offsets[0]) < 0:
        raise ValueError(
            "`transition_adjustment` needs the items' training transitions: call `set_item_transitions` first."
        )
    device = previous_items.device
    used = (previous_items >= 0) & (weights != 0)
    users, previous = used.nonzero(as_tuple=True)[0], previous_items[used]  # [U] one per (user, history item), by user
    starts = offsets[previous]
    lengths = offsets[previous + 1] - starts  # [U]
    entry_weights = weights[used].float()
    scales = successor_scales(model, previous, conditioning) if conditioning else None
    table = torch.zeros(previous_items.shape[0], len(offsets) - 1, device=device)
    # Users a group at a time, so that the per-pair index tensors (~28 bytes a pair) stay near PAIRS_PER_CHUNK pairs:
    # 500 users with 20 history items each reach 26M pairs on a catalogue of 3,706 movies whose rows are 70% full.
    # A user's pairs never straddle two groups, so every cell is summed exactly as in one pass.
    user_pairs = torch.zeros(previous_items.shape[0], dtype=torch.long, device=device).index_add_(0, users, lengths)
    user_groups = (user_pairs.cumsum(0) - user_pairs) // PAIRS_PER_CHUNK  # [N] nondecreasing
    group_sizes = torch.unique_consecutive(user_groups[users], return_counts=True)[1].tolist()  # entries per group
    parts = (users, starts, lengths, entry_weights, *([] if scales is None else [scales]))
    for group_users, group_starts, group_lengths, group_weights, *group_scales in zip(
        *(part.split(group_sizes) for part in parts), strict=True
    ):
        _add_transition_pairs(
            model, table, group_users, group_starts, group_lengths, group_weights, *(group_scales or [None])
        )
    return table


# transition_rows expands at most about this many (user, successor) pairs at once.
PAIRS_PER_CHUNK = 1 << 22


def _add_transition_pairs(
    model: nn.Module,
    table: torch.Tensor,
    users: torch.LongTensor,
    starts: torch.LongTensor,
    lengths: torch.LongTensor,
    weights: torch.FloatTensor,
    scales: torch.FloatTensor | None,
) -> None:
    """Add to ``table [N, num_items]`` each entry's weighted row of ``model``'s table: entry ``e`` (all ``[E]``) is
    user ``users[e]``'s history item, whose row starts at ``starts[e]`` with ``lengths[e]`` pairs, weighing
    ``weights[e]``; ``scales [E]`` (or None) are its :func:`successor_scales`."""
    # Every pair of the table that an entry reaches: its row's start plus its rank within the row.
    block_starts = torch.repeat_interleave(lengths.cumsum(0) - lengths, lengths)  # [P] where each entry's pairs begin
    ranks = torch.arange(int(lengths.sum()), device=table.device) - block_starts
    pairs = torch.repeat_interleave(starts, lengths) + ranks  # [P]
    log_counts = model.item_transition_log_counts[pairs]
    if scales is not None:
        log_counts = torch.log1p(torch.expm1(log_counts) * torch.repeat_interleave(scales, lengths))
    values = torch.repeat_interleave(weights, lengths) * log_counts
    columns = model.item_transition_items[pairs]
    table.index_put_((torch.repeat_interleave(users, lengths), columns), values, accumulate=True)


def successor_scales(model: nn.Module, previous_items: torch.LongTensor, conditioning: float) -> torch.FloatTensor:
    """``(m / s(h)) ** conditioning`` ``[U]`` (fp32) for each item ``h`` of ``previous_items [U]`` (all in the table's
    range), where ``s(h)`` is how many transitions leave ``h`` in ``model``'s table and ``m`` the mean of ``s`` over the
    items that have any. Scaling ``h``'s counts by it moves them from raw counts (0) towards the conditional frequency
    ``P(next | h)`` (1, times ``m``): a pair after an item with few successors then weighs more than the same count
    after a hub, and an item with the mean number of successors keeps its counts. Items without successors get 1
    (they have no pairs to scale)."""
    offsets = model.item_transition_offsets
    # Row totals from one running sum over the table's counts (float64: a difference of two large prefix sums in fp32
    # would lose a small row's total to rounding).
    running = torch.zeros(len(model.item_transition_log_counts) + 1, dtype=torch.float64, device=offsets.device)
    running[1:] = torch.expm1(model.item_transition_log_counts.double()).cumsum(0)
    totals = running[offsets[1:]] - running[offsets[:-1]]  # [num_items]
    has_successors = totals > 0
    mean_total = totals[has_successors].mean() if bool(has_successors.any()) else torch.ones((), dtype=torch.float64)
    own = totals[previous_items]
    scales = torch.where(own > 0, (mean_total / own.clamp(min=1e-12)) ** conditioning, 1.0)
    return scales.float()


def transition_pair_log_counts(
    model: nn.Module, previous_items: torch.LongTensor, next_items: torch.LongTensor
) -> torch.FloatTensor:
    """``log(1 + count)`` ``[N]`` (fp32) of each pair ``previous_items[n] -> next_items[n]`` (both ``[N]``) in
    ``model``'s table (see :func:`install_transition_table`), 0 for a pair it does not hold."""
    offsets, items = model.item_transition_offsets, model.item_transition_items
    if offsets is None or int(offsets[0]) < 0:
        raise ValueError(
            "The transition prior needs the items' training transitions: call `set_item_transitions` first."
        )
    num_items = len(offsets) - 1
    # The table's pairs as one sorted key each (row-major, columns sorted within a row), looked up by bisection.
    rows = torch.repeat_interleave(torch.arange(num_items, device=offsets.device), offsets[1:] - offsets[:-1])
    keys = rows * num_items + items
    wanted = previous_items * num_items + next_items
    if keys.numel() == 0:
        return torch.zeros(wanted.shape, device=wanted.device)
    position = torch.searchsorted(keys, wanted).clamp(max=keys.numel() - 1)
    found = keys[position] == wanted
    return torch.where(found, model.item_transition_log_counts[position], 0.0)


def leave_one_out_transition_rows(
    model: nn.Module, history_items: torch.LongTensor, decay: float, next_items: torch.LongTensor | None = None
) -> torch.FloatTensor:
    """``[N, num_items]`` (fp32): :func:`transition_rows` of the histories ``history_items [N, H]`` (newest last, -1 =
    none) with :func:`recency_weights` ``decay``. With ``next_items [N]`` (training rows' targets) each row's own pair,
    newest history item -> next item, is counted one less: a table of the training transitions counted that very
    pair, so a loss reading the full count would be handed its label (and a pair seen once would look seen once
    more in training than at test)."""
    valid = history_items >= 0
    rows_sum = transition_rows(model, history_items, recency_weights(valid, decay))
    if next_items is not None:
        rows = valid.any(-1).nonzero()[:, 0]  # rows with a history item
        positions = torch.arange(valid.shape[1], device=valid.device)
        newest = history_items[rows, (valid[rows] * positions).argmax(-1)]
        log_count = transition_pair_log_counts(model, newest, next_items[rows])
        one_less = torch.log1p((torch.expm1(log_count) - 1).clamp(min=0))
        rows_sum[rows, next_items[rows]] += one_less - log_count
    return rows_sum


def recency_weights(valid: torch.BoolTensor, decay: float) -> torch.FloatTensor:
    """``decay ** k`` for each valid position of ``valid [N, H]`` that has ``k`` valid positions after it (the
    newest item weighs 1), 0 elsewhere; ``decay`` 0 keeps the newest item alone."""
    after = valid.flip(-1).long().cumsum(-1).flip(-1) - valid.long()  # valid positions after each one
    return torch.where(valid, torch.tensor(float(decay), device=valid.device) ** after, 0.0)
