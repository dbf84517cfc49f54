"""RQ-VAE (TIGER / LETTER style): an MLP auto-encoder whose latent is quantised by residual codebooks.

Loss = reconstruction MSE + sum over digits of the VQ codebook term ``||sg[r_d] - e_d||^2`` and the
commitment term ``beta * ||r_d - sg[e_d]||^2`` (``r_d`` the latent residual entering digit ``d``, ``e_d`` its
nearest centroid), with the straight-through estimator. Codebooks start from residual k-means on the
initial latents; as the encoder moves, codes that no batch picked for ``reset_every`` steps are restarted
at residuals of the current batch (without it, three quarters of the first codebook died on Beauty).
Small enough to train a few hundred steps on a CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .base import Quantizer, kmeans

__all__ = ["RQVAEQuantizer"]


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _ResidualVQAutoEncoder(nn.Module):
    def __init__(
        self, dim: int, hidden_sizes: list[int], latent_dim: int, num_digits: int, codebook_size: int
    ):
        super().__init__()
        self.encoder = _mlp([dim, *hidden_sizes, latent_dim])
        self.decoder = _mlp([latent_dim, *reversed(hidden_sizes), dim])
        self.codebooks = nn.Parameter(torch.zeros(num_digits, codebook_size, latent_dim))

    def quantize(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Greedy residual quantisation of ``latent [B, latent_dim]``.

        Returns codes ``[B, num_digits]``, residuals entering each digit ``[B, num_digits, latent_dim]`` and
        the chosen centroids ``[B, num_digits, latent_dim]``.
        """
        residual = latent
        codes, residuals, chosen = [], [], []
        for codebook in self.codebooks:
            code = torch.cdist(residual, codebook).argmin(1)
            centroid = codebook[code]
            codes.append(code)
            residuals.append(residual)
            chosen.append(centroid)
            residual = residual - centroid.detach()
        return torch.stack(codes, 1), torch.stack(residuals, 1), torch.stack(chosen, 1)


class RQVAEQuantizer(Quantizer):
    """RQ-VAE quantiser.

    Args:
        num_digits, codebook_size, seed: see :class:`~.base.Quantizer`.
        hidden_sizes: encoder MLP hidden sizes (the decoder mirrors them).
        latent_dim: size of the quantised latent.
        steps, batch_size, learning_rate: Adam training schedule.
        beta: commitment weight.
        reset_every: dead-code restart period in steps (0 = never); no restarts in the last period.
    """

    name = "rq-vae"

    def __init__(
        self,
        num_digits: int = 4,
        codebook_size: int = 256,
        seed: int = 0,
        hidden_sizes: tuple[int, ...] = (256, 128),
        latent_dim: int = 32,
        steps: int = 300,
        batch_size: int = 1024,
        learning_rate: float = 1e-3,
        beta: float = 0.25,
        reset_every: int = 50,
        show_progress: bool = True,
    ):
        super().__init__(num_digits, codebook_size, seed, show_progress)
        self.hidden_sizes = list(hidden_sizes)
        self.latent_dim = latent_dim
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.beta = beta
        self.reset_every = reset_every
        self.model: _ResidualVQAutoEncoder | None = None
        self.final_loss: float | None = None

    def fit(self, x: np.ndarray) -> RQVAEQuantizer:
        x = self._check_input(x)
        self._clamp_codebook_size(x)
        # One intra-op thread: these matrices are small, and on a shared 2-core machine two threads made
        # every step ~4x slower. The caller's setting is restored afterwards.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self._train(x)
        finally:
            torch.set_num_threads(threads)
        self.fitted = True
        return self

    def _train(self, x: np.ndarray) -> None:
        data = torch.from_numpy(x)
        generator = torch.Generator().manual_seed(self.seed)
        # Parameter initialisation uses the global RNG: fork it so that fitting neither depends on nor
        # disturbs the caller's random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = _ResidualVQAutoEncoder(
                x.shape[1], self.hidden_sizes, self.latent_dim, self.num_digits, self.codebook_size
            )
        self._init_codebooks(model, data)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
        batch_size = min(self.batch_size, len(x))
        usage = torch.zeros(self.num_digits, self.codebook_size)  # picks since the last restart
        model.train()
        for step in tqdm(range(1, self.steps + 1), desc="rq-vae steps", disable=not self.show_progress):
            batch = data[torch.randint(len(x), (batch_size,), generator=generator)]
            latent = model.encoder(batch)
            codes, residuals, chosen = model.quantize(latent)
            quantized = latent + (chosen.sum(1) - latent).detach()  # straight-through estimator
            reconstruction = model.decoder(quantized)
            loss = (
                nn.functional.mse_loss(reconstruction, batch)
                + nn.functional.mse_loss(chosen, residuals.detach())
                + self.beta * nn.functional.mse_loss(residuals, chosen.detach())
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for digit in range(self.num_digits):
                usage[digit] += torch.bincount(codes[:, digit], minlength=self.codebook_size)
            if self.reset_every and step % self.reset_every == 0 and step <= self.steps - self.reset_every:
                self._restart_dead_codes(model, usage, residuals.detach(), generator)
                usage.zero_()
        self.final_loss = float(loss.detach())
        model.eval()
        self.model = model

    @torch.no_grad()
    def _restart_dead_codes(
        self,
        model: _ResidualVQAutoEncoder,
        usage: torch.Tensor,
        residuals: torch.Tensor,
        generator: torch.Generator,
    ) -> None:
        """Move every code unused since the last restart onto a random residual of the batch ``[B, n, latent]``."""
        for digit in range(self.num_digits):
            dead = torch.nonzero(usage[digit] == 0).flatten()
            if len(dead):
                picks = torch.randint(len(residuals), (len(dead),), generator=generator)
                model.codebooks[digit, dead] = residuals[picks, digit]

    @torch.no_grad()
    def _init_codebooks(self, model: _ResidualVQAutoEncoder, data: torch.Tensor) -> None:
        residual = model.encoder(data).numpy()
        for digit in range(self.num_digits):
            centers = kmeans(residual, self.codebook_size, self.seed + digit, max_iter=50)
            model.codebooks[digit] = torch.from_numpy(centers)
            nearest = torch.cdist(torch.from_numpy(residual), model.codebooks[digit]).argmin(1).numpy()
            residual = residual - centers[nearest]

    @torch.no_grad()
    def _quantize(self, x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self._check_fitted()
        latent = self.model.encoder(torch.from_numpy(self._check_input(x)))
        return latent, *self.model.quantize(latent)[:2]

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self._quantize(x)[1].numpy().astype(np.int64)

    @torch.no_grad()
    def digit_distances(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        latent = self._quantize(x)[0]
        codes = torch.from_numpy(np.asarray(codes, dtype=np.int64))
        distances, residual = [], latent
        for digit, codebook in enumerate(self.model.codebooks):
            distances.append(torch.cdist(residual, codebook) ** 2)
            residual = residual - codebook[codes[:, digit]]
        return torch.stack(distances, 1).numpy().astype(np.float32)

    @torch.no_grad()
    def reconstruction_error(self, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        # Measured in the latent space, where the codebooks live (the decoder is only a training aid).
        latent = self._quantize(x)[0]
        codes = torch.from_numpy(np.asarray(codes, dtype=np.int64))
        quantized = sum(self.model.codebooks[digit][codes[:, digit]] for digit in range(self.num_digits))
        return ((latent - quantized) ** 2).sum(1).numpy().astype(np.float32)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "hidden_sizes": self.hidden_sizes,
            "latent_dim": self.latent_dim,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "beta": self.beta,
            "reset_every": self.reset_every,
            "final_loss": None if self.final_loss is None else round(self.final_loss, 6),
        }
