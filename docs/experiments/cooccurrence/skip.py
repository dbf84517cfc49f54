"""Throw-away helper of this folder's probes: the training pairs two places apart."""

import numpy as np
import torch

from mindrec.data.splits import history_arrays


def skip_counts(split, num_items: int, distance: int = 2) -> torch.Tensor:
    """How often item j came ``distance`` places after item i in ``split`` (history[-distance] -> target)."""
    table = split.select_columns(["history", "target"]).with_format("arrow")[:]
    values, lengths = history_arrays(table)
    targets = table.column("target").to_numpy().astype(np.int64)
    rows = np.flatnonzero(lengths >= distance)
    previous = values[np.cumsum(lengths)[rows] - distance]
    pairs = torch.from_numpy(np.stack([previous, targets[rows]]))
    return torch.sparse_coo_tensor(pairs, torch.ones(len(rows)), (num_items, num_items)).coalesce()
