"""DDPMSchedule: closed forms against hand-computed values, strided steps, oracle sampling."""

import math

import pytest
import torch

from mindrec.modeling.scheduling_ddpm import DDPMSchedule


def small_schedule() -> DDPMSchedule:
    """T = 3, betas 0.1, 0.2, 0.3: alpha-bars 0.9, 0.72, 0.504."""
    return DDPMSchedule(num_train_timesteps=3, beta_start=0.1, beta_end=0.3)


def test_tables_match_hand_computed_values():
    schedule = small_schedule()
    torch.testing.assert_close(schedule.betas, torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64))
    torch.testing.assert_close(schedule.alphas_cumprod, torch.tensor([0.9, 0.72, 0.504], dtype=torch.float64))
    # beta_t (1 - ab_{t-1}) / (1 - ab_t), ab_{-1} = 1.
    expected = torch.tensor([0.0, 0.2 * 0.1 / 0.28, 0.3 * 0.28 / 0.496], dtype=torch.float64)
    torch.testing.assert_close(schedule.posterior_variance, expected)


def test_default_schedule_endpoints():
    schedule = DDPMSchedule()
    assert schedule.betas[0].item() == pytest.approx(1e-4) and schedule.betas[-1].item() == pytest.approx(0.02)
    expected_last = math.prod(1 - (1e-4 + (0.02 - 1e-4) * t / 999) for t in range(1000))
    assert schedule.alphas_cumprod[-1].item() == pytest.approx(expected_last, rel=1e-9)


def test_add_noise_closed_form():
    schedule = small_schedule()
    x_0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    noise = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    noisy = schedule.add_noise(x_0, noise, torch.tensor([0, 2]))
    expected = torch.tensor(
        [
            [math.sqrt(0.9) * 1 + math.sqrt(0.1) * 1, math.sqrt(0.9) * 2 - math.sqrt(0.1)],
            [math.sqrt(0.504) * 3 + math.sqrt(0.496) * 0.5, math.sqrt(0.504) * 4],
        ]
    )
    torch.testing.assert_close(noisy, expected)


def test_set_timesteps_is_an_even_descending_stride():
    schedule = DDPMSchedule(num_train_timesteps=1000)
    assert schedule.timesteps.tolist() == list(range(999, -1, -1))  # default: the full chain
    schedule.set_timesteps(10)
    assert schedule.timesteps.tolist() == [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
    schedule.set_timesteps(1)
    assert schedule.timesteps.tolist() == [999]
    for steps in (7, 100, 999):
        schedule.set_timesteps(steps)
        visited = schedule.timesteps.tolist()
        assert len(set(visited)) == steps and visited[0] == 999 and visited[-1] == 0
        assert visited == sorted(visited, reverse=True)


def test_step_variance_full_chain_and_strided():
    schedule = small_schedule()
    for t in range(3):
        assert schedule.step_variance(t, t - 1) == pytest.approx(schedule.posterior_variance[t].item())
    # Strided 2 -> 0: a = 0.504 / 0.9 = 0.56; variance (1 - 0.9) / (1 - 0.504) * (1 - 0.56).
    assert schedule.step_variance(2, 0) == pytest.approx(0.1 / 0.496 * 0.44)


def test_strided_step_matches_hand_computed_posterior():
    schedule = small_schedule()
    schedule.set_timesteps(2)
    assert schedule.timesteps.tolist() == [2, 0]
    x_t, eps = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, 0.25]])
    out = schedule.step(eps, 2, x_t, generator=torch.Generator().manual_seed(0))
    z = torch.randn(1, 2, generator=torch.Generator().manual_seed(0))
    x0_hat = (x_t - math.sqrt(0.496) * eps) / math.sqrt(0.504)
    mean = math.sqrt(0.9) * 0.44 / 0.496 * x0_hat + math.sqrt(0.56) * 0.1 / 0.496 * x_t
    torch.testing.assert_close(out.pred_original_sample, x0_hat)
    torch.testing.assert_close(out.prev_sample, mean + math.sqrt(0.1 / 0.496 * 0.44) * z)


def test_last_step_is_noise_free_and_returns_the_x0_estimate():
    schedule = small_schedule()
    x_t, eps = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, 0.25]])
    first = schedule.step(eps, 0, x_t, generator=torch.Generator().manual_seed(0))
    second = schedule.step(eps, 0, x_t, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(first.prev_sample, second.prev_sample, atol=0, rtol=0)
    torch.testing.assert_close(first.prev_sample, (x_t - math.sqrt(0.1) * eps) / math.sqrt(0.9))


@pytest.mark.parametrize("steps", [1000, 100, 7, 1])
def test_oracle_noise_recovers_a_point_mass(steps):
    """With the exact noise of a point mass at v, every x0 estimate is v, so sampling ends at v."""
    schedule = DDPMSchedule()
    schedule.set_timesteps(steps)
    generator = torch.Generator().manual_seed(0)
    target = torch.tensor([[0.5, -1.0, 2.0]]).expand(4, 3)
    sample = torch.randn(4, 3, generator=generator)
    start_distance = (sample - target).norm()
    for t in schedule.timesteps.tolist():
        ab = schedule.alpha_bar(t)
        eps = (sample - math.sqrt(ab) * target) / math.sqrt(1 - ab)
        sample = schedule.step(eps, t, sample, generator=generator).prev_sample
    assert (sample - target).norm() < 1e-3 * start_distance


def test_oracle_noise_of_a_gaussian_restores_its_variance():
    """Data N(0, s^2): E[eps | x_t] = sqrt(1 - ab) x_t / (ab s^2 + 1 - ab); the full chain must return
    samples of variance s^2 (a sampler without the posterior noise would collapse them to 0)."""
    schedule, sigma = DDPMSchedule(), 0.5
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(20000, 1, generator=generator)
    for t in schedule.timesteps.tolist():
        ab = schedule.alpha_bar(t)
        eps = math.sqrt(1 - ab) * sample / (ab * sigma**2 + 1 - ab)
        sample = schedule.step(eps, t, sample, generator=generator).prev_sample
    assert sample.var().item() == pytest.approx(sigma**2, abs=0.01)  # sampling error ~0.0025
    assert abs(sample.mean().item()) < 0.02


def test_errors_name_the_bad_values():
    with pytest.raises(ValueError, match=r"beta_start=0.5, beta_end=0.1"):
        DDPMSchedule(10, beta_start=0.5, beta_end=0.1)
    with pytest.raises(ValueError, match="`num_train_timesteps` must be >= 1, got 0"):
        DDPMSchedule(0)
    schedule = small_schedule()
    with pytest.raises(ValueError, match=r"in \[1, num_train_timesteps=3\], got 4"):
        schedule.set_timesteps(4)
    schedule.set_timesteps(2)
    with pytest.raises(ValueError, match="Timestep 1 is not among the 2 visited timesteps"):
        schedule.step(torch.zeros(1, 2), 1, torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"Timesteps must lie in \[0, 3\), got \[3\]"):
        schedule.add_noise(torch.zeros(2, 2), torch.zeros(2, 2), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"`noise` shape \(2, 3\)"):
        schedule.add_noise(torch.zeros(2, 2), torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"`timesteps` must be \[batch=2\], got \(1,\)"):
        schedule.add_noise(torch.zeros(2, 2), torch.zeros(2, 2), torch.tensor([0]))
