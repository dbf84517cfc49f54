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


PATH_LOSSES = ("masked", "next")


@dataclass
class MaskedDiffusionViews:
    """What :meth:`MaskedDiffusionSchedule.sample_views` returns.

    Attributes:
        noise_mask: ``[batch, views, code_length]`` bool, True where a view masks a canvas slot (each
            view masks at least one).
        weights: ``[batch, views]`` fp32 loss weight of each view.
        loss_mask: ``[batch, views, code_length]`` bool, the masked slots whose cross-entropy counts
            (``noise_mask`` itself, or for ``path_loss="next"`` path views only the slot filled next).
    """

    noise_mask: torch.BoolTensor
    weights: torch.FloatTensor
    loss_mask: torch.BoolTensor


def coarse_to_fine_fill_rank(
    batch_size: int,
    code_length: int,
    num_category_levels: int,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.LongTensor:
    """When each slot is filled along a coarse-to-fine path, ``[batch, code_length]`` ranks ``0 .. L-1``.

    Category slots are filled first, in level order (rank = level), as Diffusion Beam Search fills them;
    the semantic-ID digits follow in a random order per row (the decoder's "most confident first"
    order is not known at training time, and differs between beams).
    """
    levels = num_category_levels
    digits = code_length - levels
    if not 0 <= levels <= code_length:
        raise ValueError(f"`num_category_levels` must be in [0, {code_length}], got {levels}.")
    category_rank = torch.arange(levels, device=device).expand(batch_size, levels)
    digit_rank = levels + torch.rand(batch_size, digits, device=device, generator=generator).argsort(dim=1)
    return torch.cat([category_rank, digit_rank], dim=1)


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

    def sample_views(
        self,
        batch_size: int,
        code_length: int,
        num_category_levels: int,
        num_random_views: int = 1,
        num_path_views: int = 0,
        path_loss: str = "masked",
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> MaskedDiffusionViews:
        """Noise masks of several views of every row's canvas, and each view's loss weight.

        Views come in this order: ``num_random_views`` random views (each its own ``t``, masked as
        :meth:`add_noise`; weight ``1 / p``), then ``num_path_views`` states of a coarse-to-fine decoding
        path, drawn per row without replacement from its ``code_length`` states and listed in path order:
        state ``k`` has the first ``min(k, D)`` category slots and ``max(0, k - D)`` semantic-ID digits (a
        random order per row) filled, the rest masked. ``path_loss="masked"``: the loss covers every masked
        slot, weight ``code_length / masked`` (the view's term is the mean cross-entropy of its masked
        slots); ``"next"``: only the slot the path fills next (what a coarse-to-fine decoder decides in
        that state, as teacher forcing supervises an autoregressive decoder), weight ``code_length``.

        Returns:
            :class:`MaskedDiffusionViews` with ``noise_mask [B, V, L]`` and ``weights [B, V]``.
        """
        if path_loss not in PATH_LOSSES:
            raise ValueError(f"`path_loss` must be one of {PATH_LOSSES}, got {path_loss!r}.")
        masks, weights, losses = [], [], []
        if num_random_views:
            draws = self.add_noise(
                torch.zeros(batch_size * num_random_views, code_length, dtype=torch.long, device=device),
                maskable=torch.ones(batch_size * num_random_views, code_length, dtype=torch.bool, device=device),
                generator=generator,
            )
            masks.append(draws.noise_mask.view(batch_size, num_random_views, code_length))
            weights.append((1.0 / draws.mask_prob).view(batch_size, num_random_views))
            losses.append(masks[-1])
        if not 0 <= num_path_views <= code_length:
            raise ValueError(f"`num_path_views` must be in [0, {code_length}], got {num_path_views}.")
        if num_path_views:
            path = coarse_to_fine_fill_rank(batch_size, code_length, num_category_levels, device, generator)
            states = torch.rand(batch_size, code_length, device=device, generator=generator).argsort(dim=1)
            states = states[:, :num_path_views].sort(dim=1).values  # [B, M] chosen states, in path order
            # State k keeps the slots of fill rank < k; the others are masked.
            mask = path[:, None, :] >= states[:, :, None]  # [B, M (views), L (slots)]
            masks.append(mask)
            if path_loss == "next":
                losses.append(path[:, None, :] == states[:, :, None])
                weights.append(torch.full(states.shape, float(code_length), device=device))
            else:
                losses.append(mask)
                weights.append(code_length / mask.sum(-1).float())
        if not masks:
            raise ValueError("No views requested: num_random_views or num_path_views must be >= 1.")
        return MaskedDiffusionViews(
            noise_mask=torch.cat(masks, dim=1), weights=torch.cat(weights, dim=1), loss_mask=torch.cat(losses, dim=1)
        )

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


__all__ = ["MaskedDiffusionNoiseOutput", "MaskedDiffusionSchedule", "MaskedDiffusionViews", "coarse_to_fine_fill_rank"]
