"""Semantic-ID quantisers (residual k-means, RQ-VAE, OPQ/PQ) and collision resolution."""

from __future__ import annotations

from typing import Any

from .base import Quantizer, kmeans, squared_distances
from .collisions import COLLISION_STRATEGIES, resolve_collisions
from .product_quantization import OPQQuantizer, PQQuantizer
from .rq_kmeans import RQKMeansQuantizer
from .rq_vae import RQVAEQuantizer

QUANTIZERS: dict[str, type[Quantizer]] = {
    cls.name: cls for cls in (RQKMeansQuantizer, RQVAEQuantizer, OPQQuantizer, PQQuantizer)
}


def make_quantizer(
    name: str, num_digits: int = 4, codebook_size: int = 256, seed: int = 0, **kwargs: Any
) -> Quantizer:
    """Instantiate the quantiser registered as ``name`` (one of :data:`QUANTIZERS`)."""
    if name not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {name!r}: expected one of {sorted(QUANTIZERS)}")
    return QUANTIZERS[name](num_digits=num_digits, codebook_size=codebook_size, seed=seed, **kwargs)


__all__ = [
    "COLLISION_STRATEGIES",
    "OPQQuantizer",
    "PQQuantizer",
    "QUANTIZERS",
    "Quantizer",
    "RQKMeansQuantizer",
    "RQVAEQuantizer",
    "kmeans",
    "make_quantizer",
    "resolve_collisions",
    "squared_distances",
]
