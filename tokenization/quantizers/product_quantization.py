"""Parallel semantic IDs by (optimised) product quantisation — DiffGRM's PSE.

Embeddings are centred and whitened by PCA to at most ``max_dim`` dimensions (a multiple of
``num_digits``), rotated by an orthogonal matrix ``R``, and split into ``num_digits`` equal sub-spaces,
each quantised by its own k-means codebook. OPQ learns ``R`` by alternating the two steps of
``min ||Z R - Y||``: PQ on the rotated data gives the reconstruction ``Y``; orthogonal Procrustes
(``R = U V^T`` from the SVD ``Z^T Y = U S V^T``) gives the rotation. PQ is the same with ``R = I``.
Digits are decoupled and carry balanced information, which suits any-order decoding.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .base import Quantizer, kmeans, single_threaded_blas, squared_distances

__all__ = ["OPQQuantizer", "PQQuantizer"]

logger = logging.getLogger(__name__)


class OPQQuantizer(Quantizer):
    """Whitened PCA + OPQ rotation + product quantisation.

    Args:
        num_digits, codebook_size, seed: see :class:`~.base.Quantizer`.
        max_dim: PCA output size cap (rounded down to a multiple of ``num_digits``).
        opq_iterations: alternations of PQ and Procrustes (0 = plain PQ on the whitened PCA).
        kmeans_iterations: Lloyd iterations per sub-space inside each OPQ alternation (warm-started).
        max_iter: Lloyd iterations of the final per-sub-space k-means.
    """

    name = "opq"

    def __init__(
        self,
        num_digits: int = 4,
        codebook_size: int = 256,
        seed: int = 0,
        max_dim: int = 256,
        opq_iterations: int = 8,
        kmeans_iterations: int = 10,
        max_iter: int = 100,
        show_progress: bool = True,
    ):
        super().__init__(num_digits, codebook_size, seed, show_progress)
        if opq_iterations < 0:
            raise ValueError(f"opq_iterations must be >= 0, got {opq_iterations}")
        self.max_dim = max_dim
        self.opq_iterations = opq_iterations
        self.kmeans_iterations = kmeans_iterations
        self.max_iter = max_iter
        self.mean: np.ndarray | None = None  # [dim]
        self.projection: np.ndarray | None = None  # [dim, pca_dim]: principal axes / sqrt(variance)
        self.rotation: np.ndarray | None = None  # [pca_dim, pca_dim], orthogonal
        self.codebooks: np.ndarray | None = None  # [num_digits, codebook_size, pca_dim / num_digits]

    @property
    def pca_dim(self) -> int | None:
        return None if self.rotation is None else self.rotation.shape[0]

    def _whiten(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) @ self.projection).astype(np.float32)

    def _fit_pca(self, x: np.ndarray) -> None:
        """Whitened PCA onto at most ``max_dim`` axes with non-zero variance, a multiple of ``num_digits``."""
        mean = x.mean(0, dtype=np.float64)
        with single_threaded_blas():
            _, singular, axes = np.linalg.svd(x - mean, full_matrices=False)
        # Fix each axis' sign (largest component positive) so the result does not depend on the LAPACK build.
        axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])[:, None]
        variance = singular**2 / max(len(x) - 1, 1)
        # Whitening divides by the standard deviation: axes without variance (duplicates, rank < dim) are dropped.
        rank = int((variance > 1e-10 * max(variance[0], 1e-30)).sum())
        supported = min(self.max_dim, rank)
        pca_dim = supported - supported % self.num_digits
        if pca_dim < self.num_digits:
            raise ValueError(
                f"{self.name}: {x.shape[0]} items of dim {x.shape[1]} span {rank} dimensions (max_dim={self.max_dim}), "
                f"fewer than num_digits={self.num_digits}"
            )
        if pca_dim < min(self.max_dim, x.shape[1]):
            logger.info(
                "%s: PCA keeps %d dimensions (data rank %d, max_dim %d)",
                self.name,
                pca_dim,
                rank,
                self.max_dim,
            )
        self.mean = mean.astype(np.float32)
        self.projection = (axes[:pca_dim].T / np.sqrt(variance[:pca_dim])).astype(np.float32)

    def _split(self, z: np.ndarray) -> list[np.ndarray]:
        """``z [N, pca_dim]`` -> ``num_digits`` sub-vectors ``[N, pca_dim / num_digits]``."""
        return np.split(z, self.num_digits, axis=1)

    def fit(self, x: np.ndarray) -> OPQQuantizer:
        x = self._check_input(x)
        self._fit_pca(x)
        pca_dim = self.projection.shape[1]
        z = self._whiten(x)
        self._clamp_codebook_size(*self._split(z))
        rotation = np.eye(pca_dim, dtype=np.float32)
        codebooks = [None] * self.num_digits
        for _ in tqdm(
            range(self.opq_iterations), desc=f"{self.name} rotation", disable=not self.show_progress
        ):
            parts = self._split(z @ rotation)
            codebooks = [
                kmeans(
                    part, self.codebook_size, self.seed + digit, self.kmeans_iterations, init=codebooks[digit]
                )
                for digit, part in enumerate(parts)
            ]
            target = np.concatenate(
                [
                    book[squared_distances(part, book).argmin(1)]
                    for book, part in zip(codebooks, parts, strict=True)
                ],
                1,
            )
            with single_threaded_blas():
                left, _, right = np.linalg.svd(z.T @ target)
            rotation = (left @ right).astype(np.float32)
        parts = self._split(z @ rotation)
        self.codebooks = np.stack(
            [
                kmeans(part, self.codebook_size, self.seed + digit, self.max_iter, init=codebooks[digit])
                for digit, part in enumerate(parts)
            ]
        )
        self.rotation = rotation
        self.fitted = True
        return self

    def _parts(self, x: np.ndarray) -> list[np.ndarray]:
        self._check_fitted()
        return self._split(self._whiten(self._check_input(x)) @ self.rotation)

    def encode(self, x: np.ndarray) -> np.ndarray:
        parts = self._parts(x)
        return np.stack(
            [
                squared_distances(part, book).argmin(1)
                for part, book in zip(parts, self.codebooks, strict=True)
            ],
            1,
        ).astype(np.int64)

    def digit_distances(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        # Sub-spaces are independent: a digit's distances do not depend on the other digits.
        return np.stack(
            [
                squared_distances(part, book)
                for part, book in zip(self._parts(x), self.codebooks, strict=True)
            ],
            1,
        )

    def reconstruction_error(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        distances = self.digit_distances(x, codes)
        own = np.take_along_axis(distances, np.asarray(codes, dtype=np.int64)[:, :, None], 2)[:, :, 0]
        return own.sum(1).astype(np.float32)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "pca_dim": self.pca_dim,
            "whiten": True,
            "opq_iterations": self.opq_iterations,
            "kmeans_iterations": self.kmeans_iterations,
            "max_iter": self.max_iter,
        }


class PQQuantizer(OPQQuantizer):
    """Whitened PCA + product quantisation without a learned rotation (``opq_iterations=0``)."""

    name = "pq"

    def __init__(
        self,
        num_digits: int = 4,
        codebook_size: int = 256,
        seed: int = 0,
        max_dim: int = 256,
        max_iter: int = 100,
        show_progress: bool = True,
    ):
        super().__init__(
            num_digits,
            codebook_size,
            seed,
            max_dim,
            opq_iterations=0,
            max_iter=max_iter,
            show_progress=show_progress,
        )

    def config(self) -> dict[str, Any]:
        config = super().config()
        del config["opq_iterations"], config["kmeans_iterations"]
        return config
