"""The Gaussian DDPM noise schedule of DeftRec's continuous item-vector diffusion (DESIGN §6).

One object, scalar hyper-parameters only, no model inside (the diffusers scheduler shape):
``add_noise`` is the training side; ``set_timesteps`` then ``step`` the sampling side. Linear betas,
epsilon prediction, the "fixed small" posterior variance of Ho et al. (2020).

Strided sampling: with ``num_inference_steps < num_train_timesteps`` the sampler visits an evenly
spaced subset ``t_n > ... > t_1`` and every step is the exact DDPM posterior ``q(x_prev | x_t, x_0)``
of the sub-chain, built from the cumulative products ``alpha_bar`` at the two visited timesteps
(a step's "beta" is ``1 - alpha_bar[t] / alpha_bar[prev]``, not the per-step ``beta[t]``).

Remote code: imports only torch.
"""

from dataclasses import dataclass

import torch


@dataclass
class DDPMStepOutput:
    """What :meth:`DDPMSchedule.step` returns.

    Attributes:
        prev_sample: ``x_prev``, same shape as ``x_t``: the sample at the previous visited timestep
            (``x_0`` after the last step).
        pred_original_sample: the model's estimate of ``x_0`` at this step, same shape as ``x_t``.
    """

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class DDPMSchedule:
    """Linear-beta DDPM with epsilon prediction.

    Tables (float64, length ``num_train_timesteps = T``):
    ``betas[t] = beta_start + (beta_end - beta_start) * t / (T - 1)``, ``alphas = 1 - betas``,
    ``alphas_cumprod[t] = prod_{s <= t} alphas[s]`` (alpha-bar), and
    ``posterior_variance[t] = betas[t] * (1 - alpha_bar[t-1]) / (1 - alpha_bar[t])`` with
    ``alpha_bar[-1] = 1`` (so ``posterior_variance[0] = 0``).

    Args:
        num_train_timesteps: T, length of the forward chain.
        beta_start, beta_end: first and last beta, ``0 < beta_start <= beta_end < 1``.
    """

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
        if num_train_timesteps < 1:
            raise ValueError(f"`num_train_timesteps` must be >= 1, got {num_train_timesteps}.")
        if not 0.0 < beta_start <= beta_end < 1.0:
            raise ValueError(
                f"Need 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}."
            )
        self.num_train_timesteps = int(num_train_timesteps)
        self.beta_start = float(beta_start)
        self.beta_end = float(beta_end)
        self.betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float64)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.set_timesteps(num_train_timesteps)

    # ----------------------------------------------------------------------------------------------
    # Closed forms
    def alpha_bar(self, timestep: int) -> float:
        """``alpha_bar[t]``, with ``alpha_bar[-1] = 1`` (the clean data before the first step)."""
        return 1.0 if timestep < 0 else float(self.alphas_cumprod[timestep])

    @property
    def posterior_variance(self) -> torch.Tensor:
        """``[T]`` float64 variance of ``q(x_{t-1} | x_t, x_0)`` on the full (unstrided) chain."""
        previous = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])
        return self.betas * (1.0 - previous) / (1.0 - self.alphas_cumprod)

    def step_variance(self, timestep: int, prev_timestep: int) -> float:
        """Variance of ``q(x_prev | x_t, x_0)`` between two visited timesteps (``prev = -1``: to x_0)."""
        alpha_bar_t, alpha_bar_prev = self.alpha_bar(timestep), self.alpha_bar(prev_timestep)
        step_beta = 1.0 - alpha_bar_t / alpha_bar_prev
        return (1.0 - alpha_bar_prev) / (1.0 - alpha_bar_t) * step_beta

    # ----------------------------------------------------------------------------------------------
    # Training side
    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """``x_t = sqrt(alpha_bar[t]) x_0 + sqrt(1 - alpha_bar[t]) noise``.

        Args:
            original_samples: ``x_0 [batch, ...]``.
            noise: standard Gaussian noise of the same shape.
            timesteps: ``[batch]`` int64 timesteps in ``0 .. T-1``, one per row.
        Returns:
            ``x_t`` with the shape and dtype of ``original_samples``.
        """
        if noise.shape != original_samples.shape:
            raise ValueError(
                f"`noise` shape {tuple(noise.shape)} != `original_samples` shape {tuple(original_samples.shape)}."
            )
        if timesteps.shape != original_samples.shape[:1]:
            raise ValueError(
                f"`timesteps` must be [batch={original_samples.shape[0]}], got {tuple(timesteps.shape)}."
            )
        self._check_timesteps(timesteps)
        # Index on the timesteps' device in fp32 (float64 is not supported everywhere, e.g. MPS).
        alpha_bar = self.alphas_cumprod.to(torch.float32).to(timesteps.device)[timesteps]
        alpha_bar = alpha_bar.view(-1, *([1] * (original_samples.dim() - 1)))
        noisy = alpha_bar.sqrt() * original_samples.float() + (1.0 - alpha_bar).sqrt() * noise.float()
        return noisy.to(original_samples.dtype)

    def _check_timesteps(self, timesteps: torch.Tensor) -> None:
        if timesteps.numel() and (
            int(timesteps.min()) < 0 or int(timesteps.max()) >= self.num_train_timesteps
        ):
            bad = timesteps[(timesteps < 0) | (timesteps >= self.num_train_timesteps)][:5].tolist()
            raise ValueError(f"Timesteps must lie in [0, {self.num_train_timesteps}), got {bad}.")

    # ----------------------------------------------------------------------------------------------
    # Sampling side
    def set_timesteps(self, num_inference_steps: int) -> None:
        """Choose the visited timesteps: ``num_inference_steps`` evenly spaced, from ``T-1`` down to 0.

        Sets ``self.timesteps`` (int64, descending) and ``self.num_inference_steps``. With
        ``num_inference_steps = T`` every timestep is visited (the plain DDPM chain). Starting at
        ``T-1`` keeps the first sample pure noise; ending at 0 makes the last step noise-free.
        """
        if not 1 <= num_inference_steps <= self.num_train_timesteps:
            raise ValueError(
                f"`num_inference_steps` must be in [1, num_train_timesteps={self.num_train_timesteps}], "
                f"got {num_inference_steps}."
            )
        grid = torch.linspace(self.num_train_timesteps - 1, 0, num_inference_steps, dtype=torch.float64)
        # Spacing is >= 1 when num_inference_steps <= T, so rounding keeps the steps distinct.
        self.timesteps = grid.round().long()
        self.num_inference_steps = int(num_inference_steps)
        visited = self.timesteps.tolist()
        self._previous = dict(zip(visited, visited[1:] + [-1], strict=True))

    def previous_timestep(self, timestep: int) -> int:
        """The visited timestep after ``timestep`` in sampling order (-1 after the last one)."""
        if timestep not in self._previous:
            raise ValueError(
                f"Timestep {timestep} is not among the {self.num_inference_steps} visited timesteps; "
                "call `set_timesteps` and iterate over `timesteps`."
            )
        return self._previous[timestep]

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int,
        sample: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> DDPMStepOutput:
        """One reverse step ``x_t -> x_prev`` from the predicted noise.

        ``x_0_hat = (x_t - sqrt(1 - ab_t) eps_hat) / sqrt(ab_t)``, then the posterior mean
        ``sqrt(ab_prev) b / (1 - ab_t) x_0_hat + sqrt(a) (1 - ab_prev) / (1 - ab_t) x_t`` with
        ``a = ab_t / ab_prev`` and ``b = 1 - a``, plus ``sqrt(step_variance) z`` (none at the last step).

        Args:
            model_output: predicted noise ``eps_hat``, same shape as ``sample``.
            timestep: the current visited timestep (an element of ``self.timesteps``).
            sample: ``x_t [batch, ...]``.
            generator: ``torch.Generator`` on ``sample.device`` for the fresh noise ``z``.
        """
        if model_output.shape != sample.shape:
            raise ValueError(
                f"`model_output` shape {tuple(model_output.shape)} != `sample` shape {tuple(sample.shape)}."
            )
        timestep = int(timestep)
        prev_timestep = self.previous_timestep(timestep)
        alpha_bar_t, alpha_bar_prev = self.alpha_bar(timestep), self.alpha_bar(prev_timestep)
        step_alpha = alpha_bar_t / alpha_bar_prev
        step_beta = 1.0 - step_alpha
        x_t, eps = sample.float(), model_output.float()
        pred_original = (x_t - (1.0 - alpha_bar_t) ** 0.5 * eps) / alpha_bar_t**0.5
        coef_original = alpha_bar_prev**0.5 * step_beta / (1.0 - alpha_bar_t)
        coef_current = step_alpha**0.5 * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar_t)
        prev_sample = coef_original * pred_original + coef_current * x_t
        if prev_timestep >= 0:
            noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
            prev_sample = prev_sample + self.step_variance(timestep, prev_timestep) ** 0.5 * noise
        return DDPMStepOutput(
            prev_sample=prev_sample.to(sample.dtype), pred_original_sample=pred_original.to(sample.dtype)
        )


__all__ = ["DDPMSchedule", "DDPMStepOutput"]
