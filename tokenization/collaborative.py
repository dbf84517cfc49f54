"""Collaborative item vectors from training interactions, to put collaborative signal into item codes.

Text embeddings place items by what they say; a recommender also needs to know which items are bought
together. LETTER-style collaborative semantic IDs quantise a vector that carries both. Here the
collaborative part is a positive-PMI factorisation of item co-occurrence in users' training sequences
(an SVD of the PPMI matrix, the classic count-based counterpart of item2vec): two items whose PPMI rows
are alike -- bought next to the same items -- get nearby vectors, so the quantiser tends to give them
shared code prefixes.

Only the training split is read, so no validation or test target leaks into the codes.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import numpy as np

logger = logging.getLogger(__name__)


def cooccurrence_item_vectors(
    histories: Sequence[Sequence[int]],
    targets: Sequence[int],
    num_items: int,
    dim: int = 64,
    window: int = 3,
    seed: int = 0,
) -> np.ndarray:
    """Item vectors ``[num_items, dim]`` (rows L2-normalised; zeros for items never co-occurring).

    Each training row ``(history, target)`` adds, for ``k = 1 .. window``, a co-occurrence of ``target``
    with ``history[-k]`` of weight ``1 / k`` (both directions). With leave-one-out prefix rows every
    pair of a user's training sequence within ``window`` positions is counted once. The vectors are
    ``U sqrt(S)`` of a rank-``dim`` SVD of ``PPMI = max(0, log(C_ij C / (C_i C_j)))``.

    Args:
        histories, targets: the training rows (item indices; histories chronological).
        num_items: catalogue size.
        dim: vector size (clamped to ``num_items - 1``).
        window: how many preceding items each target co-occurs with.
        seed: seed of the randomized SVD.

    Raises:
        ValueError: mismatched rows, an item index outside ``[0, num_items)``, ``dim`` or ``window`` < 1,
            or no co-occurrence at all.
    """

    if len(histories) != len(targets):
        raise ValueError(f"{len(histories)} histories but {len(targets)} targets")
    lengths = np.fromiter((len(history) for history in histories), dtype=np.int64, count=len(histories))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.fromiter(itertools.chain.from_iterable(histories), dtype=np.int64, count=int(offsets[-1]))
    targets = np.fromiter(targets, dtype=np.int64, count=len(lengths))
    return cooccurrence_vectors_of_rows(values, offsets, targets, num_items, dim, window, seed)


def cooccurrence_vectors_of_rows(
    history_values: np.ndarray,
    history_offsets: np.ndarray,
    targets: np.ndarray,
    num_items: int,
    dim: int = 64,
    window: int = 3,
    seed: int = 0,
) -> np.ndarray:
    """:func:`cooccurrence_item_vectors` of rows held as arrays (``mindrec.data.splits.SplitColumns``): row ``r`` has
    history ``history_values[history_offsets[r] : history_offsets[r + 1]]`` (int64 ``[values]``, ``[rows + 1]``) and
    target ``targets[r]`` (``[rows]``). Column-wise: a list per pair took a minute and GBs on 2.6M rows."""
    from scipy.sparse import coo_matrix
    from sklearn.utils.extmath import randomized_svd
    from threadpoolctl import threadpool_limits

    if dim < 1 or window < 1:
        raise ValueError(f"dim and window must be >= 1, got dim={dim}, window={window}")
    lengths = np.diff(history_offsets)  # [rows]
    distances = np.arange(1, window + 1)  # [window]
    paired = lengths[:, None] >= distances[None, :]  # [rows, window]: history[-k] exists
    if not paired.any():
        raise ValueError("no co-occurring items in the training rows (every history is empty)")
    items = history_values[np.where(paired, history_offsets[1:, None] - distances[None, :], 0)]  # [rows, window]
    row_targets = np.broadcast_to(targets[:, None], items.shape)
    # Entries in the order row, distance, then (target, item) before (item, target): summed duplicates then add up
    # in the same order as the pair-by-pair lists this replaced, so the vectors are the same to the bit.
    rows_array = np.stack([row_targets, items], axis=-1)[paired].reshape(-1)
    cols_array = np.stack([items, row_targets], axis=-1)[paired].reshape(-1)
    weights = np.broadcast_to((1.0 / distances)[None, :, None], (*items.shape, 2))[paired].reshape(-1)
    outside = rows_array[(rows_array < 0) | (rows_array >= num_items)]
    if outside.size:
        raise ValueError(f"item index {int(outside[0])} is outside [0, {num_items})")
    counts = coo_matrix((weights, (rows_array, cols_array)), shape=(num_items, num_items)).tocsr()
    counts.sum_duplicates()
    item_totals = np.asarray(counts.sum(axis=1)).ravel()
    total = float(item_totals.sum())
    coo = counts.tocoo()
    pmi = np.log(coo.data * total / (item_totals[coo.row] * item_totals[coo.col]))
    keep = pmi > 0
    ppmi = coo_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape).tocsr()
    rank = min(dim, num_items - 1)
    # Single-threaded BLAS: threaded OpenBLAS was several times slower on a shared 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        left, singular, _ = randomized_svd(ppmi, rank, n_iter=4, random_state=seed)
    vectors = unit_rows(left * np.sqrt(singular)[None, :])
    logger.info(
        "co-occurrence item vectors: %d items, dim %d, %d PPMI entries, %d items without co-occurrence",
        num_items, rank, ppmi.nnz, int((~vectors.any(axis=1)).sum()),
    )
    return vectors


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, fp32 (all-zero rows stay zero; as the text embeddings are normalised)."""
    from sklearn.preprocessing import normalize

    return normalize(matrix).astype(np.float32)


def combine_item_vectors(content: np.ndarray, collaborative: np.ndarray, collaborative_weight: float = 0.5) -> np.ndarray:
    """``[content * sqrt(1 - w), collaborative * sqrt(w)]`` row-wise, each block L2-normalised first.

    With unit-norm blocks the squared distance between two items is ``(1 - w)`` times their content
    distance plus ``w`` times their collaborative distance, which is what k-means quantisers minimise.
    """
    if content.shape[0] != collaborative.shape[0]:
        raise ValueError(f"{content.shape[0]} content rows but {collaborative.shape[0]} collaborative rows")
    if not 0.0 <= collaborative_weight <= 1.0:
        raise ValueError(f"collaborative_weight must be in [0, 1], got {collaborative_weight}")
    return np.concatenate(
        [unit_rows(content) * np.sqrt(1.0 - collaborative_weight), unit_rows(collaborative) * np.sqrt(collaborative_weight)],
        axis=1,
    ).astype(np.float32)


__all__ = ["combine_item_vectors", "cooccurrence_item_vectors", "cooccurrence_vectors_of_rows", "unit_rows"]
