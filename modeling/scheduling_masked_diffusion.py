"""The masking schedule of conditional masked diffusion (LLaDA / MindRec, DESIGN §4).

One object, scalar hyper-parameters only, no model inside (the diffusers scheduler shape):
``add_noise`` is the training side, ``num_tokens_to_unmask`` the decoding side.

Remote code: imports only torch.
"""

from dataclasses import dataclass

import torch


@dataclass
class MaskedDiffusionNoiseOutput:
    """What :meth:`MaskedDiffusionSchedule.add_noise` returns.

    Attributes:
        noisy_input_ids: ``[batch, seq]`` input with the chosen positions replaced by the mask token.
        noise_mask: ``[batch, seq]`` bool, True where a token was masked (always a subset of ``maskable``).
        mask_prob: ``[batch]`` fp32 mask rate ``p`` drawn for each row; the loss weighs a row by ``1 / p``.
    """

    noisy_input_ids: torch.LongTensor
    noise_mask: torch.BoolTensor
    mask_prob: torch.FloatTensor


class MaskedDiffusionSchedule:
    """Linear masking schedule with a floor: ``p = eps + (1 - eps) * t``, ``t ~ U(0, 1)``.

    Every maskable token of a row is masked independently with probability ``p``; a row whose draw
    masks nothing gets its single "most maskable" token masked (the one with the smallest uniform
    draw, i.e. the first to go as ``p`` grows), so that every row contributes to the loss.

    Args:
        mask_token_id: id written at masked positions.
        eps: floor of the mask rate, in ``[0, 1)``. MindRec tuned it in {0.4 .. 0.7}; LLaDA uses 1e-3.
    """

    def __init__(self, mask_token_id: int, eps: float = 0.5):
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"`eps` must be in [0, 1), got {eps}.")
        self.mask_token_id = int(mask_token_id)
        self.eps = float(eps)

    def sample_mask_prob(
        self, batch_size: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
    ) -> torch.FloatTensor:
        """Draw ``t ~ U(0, 1)`` per row and return ``p = eps + (1 - eps) * t``, shape ``[batch_size]``."""
        t = torch.rand(batch_size, device=device, generator=generator)
        return self.eps + (1.0 - self.eps) * t

    def add_noise(
        self,
        input_ids: torch.LongTensor,
        maskable: torch.BoolTensor,
        generator: torch.Generator | None = None,
        mask_prob: torch.FloatTensor | None = None,
    ) -> MaskedDiffusionNoiseOutput:
        """Mask response tokens for one training step.

        Args:
            input_ids: ``[batch, seq]`` clean sequence (prompt + response).
            maskable: ``[batch, seq]`` bool, True at response item tokens (the prompt is never noised).
                Every row needs at least one maskable token.
            generator: optional ``torch.Generator`` on ``input_ids.device`` for reproducible draws.
            mask_prob: optional ``[batch]`` rates to use instead of drawing them.
        """
        if input_ids.shape != maskable.shape:
            raise ValueError(
                f"`maskable` shape {tuple(maskable.shape)} != `input_ids` shape {tuple(input_ids.shape)}."
            )
        if not bool(maskable.any(dim=1).all()):
            rows = (~maskable.any(dim=1)).nonzero().flatten().tolist()
            raise ValueError(f"Rows {rows} have no maskable token.")
        batch_size = input_ids.shape[0]
        if mask_prob is None:
            mask_prob = self.sample_mask_prob(batch_size, input_ids.device, generator)
        draws = torch.rand(input_ids.shape, device=input_ids.device, generator=generator)
        draws = draws.masked_fill(~maskable, 2.0)  # never chosen: above any p and any real draw
        noise_mask = draws < mask_prob[:, None]
        # Rows that drew nothing mask their smallest draw, so every row carries a loss term.
        first = draws.argmin(dim=1)
        empty = ~noise_mask.any(dim=1)
        noise_mask[empty, first[empty]] = True
        noisy = input_ids.masked_fill(noise_mask, self.mask_token_id)
        return MaskedDiffusionNoiseOutput(noisy_input_ids=noisy, noise_mask=noise_mask, mask_prob=mask_prob)

    @staticmethod
    def num_tokens_to_unmask(num_masked: int, num_steps: int) -> list[int]:
        """Split ``num_masked`` positions over ``num_steps`` decoding steps as evenly as possible.

        Earlier steps take the remainder (LLaDA's ``get_num_transfer_tokens``): 7 over 3 -> [3, 2, 2].
        """
        if num_steps < 1:
            raise ValueError(f"`num_steps` must be >= 1, got {num_steps}.")
        if num_masked < 0:
            raise ValueError(f"`num_masked` must be >= 0, got {num_masked}.")
        base, extra = divmod(num_masked, num_steps)
        return [base + (1 if step < extra else 0) for step in range(num_steps)]


__all__ = ["MaskedDiffusionNoiseOutput", "MaskedDiffusionSchedule"]
