"""Residual k-means (RQ-KMeans): digit 1 is a coarse k-means cluster, each later digit clusters the
residual left by the digits before it, so codes refine left to right."""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .base import Quantizer, kmeans, squared_distances

__all__ = ["RQKMeansQuantizer"]


class RQKMeansQuantizer(Quantizer):
    """Residual k-means with ``num_digits`` codebooks of ``codebook_size`` centroids each.

    Args:
        num_digits, codebook_size, seed: see :class:`~.base.Quantizer`; digit ``d`` uses seed ``seed + d``.
        max_iter: Lloyd iterations per digit.
    """

    name = "rq-kmeans"

    def __init__(
        self,
        num_digits: int = 4,
        codebook_size: int = 256,
        seed: int = 0,
        max_iter: int = 100,
        show_progress: bool = True,
    ):
        super().__init__(num_digits, codebook_size, seed, show_progress)
        self.max_iter = max_iter
        self.codebooks: np.ndarray | None = None  # [num_digits, codebook_size, dim]

    def fit(self, x: np.ndarray) -> RQKMeansQuantizer:
        x = self._check_input(x)
        self._clamp_codebook_size(x)
        residual = x.copy()
        codebooks = []
        for digit in tqdm(range(self.num_digits), desc="rq-kmeans digits", disable=not self.show_progress):
            centers = kmeans(residual, self.codebook_size, self.seed + digit, self.max_iter)
            codebooks.append(centers)
            residual -= centers[squared_distances(residual, centers).argmin(1)]
        self.codebooks = np.stack(codebooks)
        self.fitted = True
        return self

    def _residuals(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Residual entering each digit, ``[N, num_digits, dim]`` (digit 0 sees ``x`` itself)."""
        residuals = np.empty((x.shape[0], self.num_digits, x.shape[1]), dtype=np.float32)
        residual = x.copy()
        for digit in range(self.num_digits):
            residuals[:, digit] = residual
            residual = residual - self.codebooks[digit][codes[:, digit]]
        return residuals

    def encode(self, x: np.ndarray) -> np.ndarray:
        self._check_fitted()
        residual = self._check_input(x).copy()
        codes = np.empty((residual.shape[0], self.num_digits), dtype=np.int64)
        for digit in range(self.num_digits):
            codes[:, digit] = squared_distances(residual, self.codebooks[digit]).argmin(1)
            residual -= self.codebooks[digit][codes[:, digit]]
        return codes

    def digit_distances(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        self._check_fitted()
        residuals = self._residuals(self._check_input(x), codes)
        return np.stack(
            [
                squared_distances(residuals[:, digit], self.codebooks[digit])
                for digit in range(self.num_digits)
            ],
            1,
        )

    def reconstruction_error(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        self._check_fitted()
        x = self._check_input(x)
        reconstruction = sum(self.codebooks[digit][codes[:, digit]] for digit in range(self.num_digits))
        return ((x - reconstruction) ** 2).sum(1).astype(np.float32)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "max_iter": self.max_iter}
