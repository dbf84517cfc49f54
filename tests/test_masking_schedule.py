"""MaskedDiffusionSchedule: which tokens are masked, at what rate, reproducibly."""

import pytest
import torch

from mindrec.modeling import MaskedDiffusionSchedule


def test_only_maskable_tokens_are_masked_and_every_row_gets_one():
    schedule = MaskedDiffusionSchedule(mask_token_id=1, eps=0.0)
    ids = torch.arange(10, 10 + 4 * 12).view(4, 12)
    maskable = torch.zeros_like(ids, dtype=torch.bool)
    maskable[:, -5:] = True
    for seed in range(50):
        out = schedule.add_noise(ids, maskable, generator=torch.Generator().manual_seed(seed))
        assert not bool((out.noise_mask & ~maskable).any())
        assert bool(out.noise_mask.any(dim=1).all())
        assert torch.equal(out.noisy_input_ids[~out.noise_mask], ids[~out.noise_mask])
        assert bool((out.noisy_input_ids[out.noise_mask] == 1).all())


def test_mask_rate_floor_and_reproducibility():
    schedule = MaskedDiffusionSchedule(mask_token_id=1, eps=0.6)
    p = schedule.sample_mask_prob(10_000, generator=torch.Generator().manual_seed(0))
    assert float(p.min()) >= 0.6 and float(p.max()) <= 1.0
    assert abs(float(p.mean()) - 0.8) < 0.01
    ids = torch.randint(5, 50, (8, 20))
    maskable = torch.ones_like(ids, dtype=torch.bool)
    a = schedule.add_noise(ids, maskable, generator=torch.Generator().manual_seed(3))
    b = schedule.add_noise(ids, maskable, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.noise_mask, b.noise_mask) and torch.equal(a.mask_prob, b.mask_prob)
    # With p >= 0.6 over 20 tokens the realised rate follows p.
    rates = a.noise_mask.float().mean(1)
    assert float((rates - a.mask_prob).abs().max()) < 0.4


def test_given_mask_prob_one_masks_everything_maskable():
    schedule = MaskedDiffusionSchedule(mask_token_id=1, eps=0.0)
    ids = torch.randint(5, 50, (2, 6))
    maskable = torch.tensor([[0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]], dtype=torch.bool)
    out = schedule.add_noise(ids, maskable, mask_prob=torch.ones(2))
    assert torch.equal(out.noise_mask, maskable)


def test_errors():
    with pytest.raises(ValueError, match=r"`eps` must be in \[0, 1\), got 1.5"):
        MaskedDiffusionSchedule(mask_token_id=1, eps=1.5)
    schedule = MaskedDiffusionSchedule(mask_token_id=1)
    with pytest.raises(ValueError, match=r"Rows \[1\] have no maskable token"):
        schedule.add_noise(torch.zeros(2, 3, dtype=torch.long), torch.tensor([[1, 0, 0], [0, 0, 0]], dtype=torch.bool))
    with pytest.raises(ValueError, match="shape"):
        schedule.add_noise(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 4, dtype=torch.bool))


def test_num_tokens_to_unmask():
    assert MaskedDiffusionSchedule.num_tokens_to_unmask(7, 3) == [3, 2, 2]
    assert MaskedDiffusionSchedule.num_tokens_to_unmask(7, 7) == [1] * 7
    assert MaskedDiffusionSchedule.num_tokens_to_unmask(2, 4) == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="`num_steps` must be >= 1"):
        MaskedDiffusionSchedule.num_tokens_to_unmask(3, 0)
