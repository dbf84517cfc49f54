"""Shared parts of the semantic-ID quantisers: the interface, codebook-size clamping and k-means."""

from __future__ import annotations

import logging
import math
import warnings
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

__all__ = ["Quantizer", "kmeans", "kmeans_plusplus", "single_threaded_blas", "squared_distances"]

logger = logging.getLogger(__name__)


def squared_distances(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``[N, K]`` between ``points [N, d]`` and ``centers [K, d]`` (float32)."""
    points = points.astype(np.float32, copy=False)
    centers = centers.astype(np.float32, copy=False)
    dist = (points**2).sum(1, keepdims=True) - 2.0 * points @ centers.T + (centers**2).sum(1)[None, :]
    return np.maximum(dist, 0.0)


def kmeans_plusplus(points: np.ndarray, num_clusters: int, seed: int) -> np.ndarray:
    """Greedy k-means++ seeding (``2 + ln K`` candidates per step, the best kept); centers ``[K, d]``.

    Written out here because scikit-learn's version was ~6x slower on a loaded 2-core machine; the Lloyd
    iterations themselves stay in scikit-learn.
    """
    with single_threaded_blas():
        return _kmeans_plusplus(points, num_clusters, seed)


def single_threaded_blas() -> Any:
    """Context that limits BLAS/LAPACK to one thread.

    The products here are thin (``[N, d] @ [d, 7]``) or small (a 256x256 SVD); with several threads on a
    shared machine OpenBLAS spent up to 100x longer synchronising its threads than computing.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _kmeans_plusplus(points: np.ndarray, num_clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    num_points = len(points)
    trials = 2 + int(math.log(num_clusters))
    norms = (points**2).sum(1)
    centers = np.empty((num_clusters, points.shape[1]), dtype=np.float32)
    centers[0] = points[rng.integers(num_points)]
    closest = squared_distances(points, centers[:1])[:, 0].astype(
        np.float64
    )  # [N] distance to nearest center
    for index in range(1, num_clusters):
        cumulative = np.cumsum(closest)
        if cumulative[-1] <= 0:  # every point already is a center: only ties are left
            candidates = rng.integers(num_points, size=trials)
        else:
            candidates = np.minimum(
                np.searchsorted(cumulative, rng.random(trials) * cumulative[-1]), num_points - 1
            )
        distances = np.maximum(
            norms[:, None] - 2.0 * points @ points[candidates].T + norms[candidates][None, :], 0.0
        )
        updated = np.minimum(closest[:, None], distances)  # [N, trials]
        best = int(updated.sum(0).argmin())
        closest = updated[:, best]
        centers[index] = points[candidates[best]]
    return centers


def kmeans(
    points: np.ndarray, num_clusters: int, seed: int, max_iter: int = 100, init: np.ndarray | None = None
) -> np.ndarray:
    """Lloyd k-means (scikit-learn) from :func:`kmeans_plusplus` or the given ``init [K, d]``; centers ``[K, d]``.

    Deterministic for a given ``seed``. Callers clamp ``num_clusters`` to the number of distinct points
    first, so scikit-learn's "fewer distinct points than clusters" warning only means ties; it is logged.
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    points = np.ascontiguousarray(points, dtype=np.float32)
    if init is None:
        init = kmeans_plusplus(points, num_clusters, seed)
    model = KMeans(n_clusters=num_clusters, init=init, n_init=1, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(points)
    for warning in caught:
        logger.debug("k-means: %s", warning.message)
    return model.cluster_centers_.astype(np.float32)


class Quantizer(ABC):
    """Maps embeddings ``[N, dim]`` to ``num_digits`` codes in ``0 .. codebook_size-1``.

    Subclasses implement :meth:`fit`, :meth:`encode`, :meth:`digit_distances` and
    :meth:`reconstruction_error`; the last two feed collision resolution. ``codebook_size`` may be lowered
    by :meth:`fit` when the data has fewer distinct points (logged as a warning).
    """

    name: ClassVar[str]

    def __init__(
        self, num_digits: int = 4, codebook_size: int = 256, seed: int = 0, show_progress: bool = True
    ):
        if num_digits < 1:
            raise ValueError(f"num_digits must be >= 1, got {num_digits}")
        if codebook_size < 1:
            raise ValueError(f"codebook_size must be >= 1, got {codebook_size}")
        self.num_digits = num_digits
        self.requested_codebook_size = codebook_size
        self.codebook_size = codebook_size
        self.seed = seed
        self.show_progress = show_progress
        self.fitted = False

    @abstractmethod
    def fit(self, x: np.ndarray) -> Quantizer:
        """Learn the codebooks from ``x [N, dim]``; returns ``self``."""

    @abstractmethod
    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes int64 ``[N, num_digits]``."""

    @abstractmethod
    def digit_distances(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """float32 ``[N, num_digits, codebook_size]``: for each item and digit, the squared distance of the
        part of the item that digit quantises (its residual, or its sub-vector) to every centroid of that
        digit, given the item's ``codes [N, num_digits]`` for the earlier digits."""

    @abstractmethod
    def reconstruction_error(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """float32 ``[N]``: squared distance between each item and the reconstruction of its code."""

    def config(self) -> dict[str, Any]:
        """JSON-ready description of the quantiser and its parameters."""
        return {
            "name": self.name,
            "num_digits": self.num_digits,
            "codebook_size": self.codebook_size,
            "requested_codebook_size": self.requested_codebook_size,
            "seed": self.seed,
        }

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(
                f"{self.name}: embeddings must be a non-empty [num_items, dim] matrix, got {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError(
                f"{self.name}: embeddings are not finite at item index {int(np.argmin(np.isfinite(x).all(1)))}"
            )
        return np.ascontiguousarray(x, dtype=np.float32)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(f"{self.name}: call fit() before encoding")

    def _clamp_codebook_size(self, *parts: np.ndarray) -> None:
        """Lower ``codebook_size`` to the fewest distinct rows among ``parts`` (k-means needs that many)."""
        supported = min(len(np.unique(part, axis=0)) for part in parts)
        if self.requested_codebook_size > supported:
            logger.warning(
                "%s: codebook_size %d clamped to %d, the number of distinct embedding rows",
                self.name,
                self.requested_codebook_size,
                supported,
            )
        self.codebook_size = min(self.requested_codebook_size, supported)
