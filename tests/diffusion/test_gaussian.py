"""The exact denoiser of a correlated Gaussian (the base model of the microbiome denoiser)."""

import numpy as np
import pytest
import torch

from synthomics.diffusion.gaussian import GaussianDenoiser
from synthomics.diffusion.process import GaussianDiffusion, x0_from_prediction


def _correlated(n: int = 4000, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(5, 5)) * np.array([2.0, 1.0, 0.7, 0.3, 0.1])
    return torch.from_numpy(rng.normal(size=(n, 5)) @ mixing.T + np.arange(5.0))


def test_fit_keeps_the_leading_variances_and_shrinks_the_rest():
    x = _correlated()
    full = GaussianDenoiser.fit(x, rank=4)
    sample_cov = torch.cov(x.T).float()
    assert torch.allclose(full.mean, x.mean(0).float(), atol=1e-5)
    # rank F-1 leaves one eigenvalue as the residual: the covariance is the sample one
    assert torch.allclose(full.covariance(), sample_cov, atol=1e-3 * float(sample_cov.max()))
    low = GaussianDenoiser.fit(x, rank=2)
    eigen = torch.linalg.eigvalsh(sample_cov).flip(0)
    assert torch.allclose(low.variances, eigen[:2], rtol=1e-4)
    assert float(low.residual) == pytest.approx(float(eigen[2:].mean()), rel=1e-4)
    # the trace is kept
    assert float(torch.trace(low.covariance())) == pytest.approx(float(eigen.sum()), rel=1e-4)


def test_rank_is_capped_by_the_samples():
    base = GaussianDenoiser.fit(torch.randn(6, 2, 10), rank=64)
    assert base.rank == 5
    assert base.mean.shape == (20,)
    assert base.sample(3).shape == (3, 2, 10)


@pytest.mark.parametrize("alpha2", [0.2, 0.6, 0.9])
def test_closed_form_posterior_mean_matches_monte_carlo(alpha2):
    # E[x0 | x_t] by self-normalised importance weights over exact draws of the Gaussian
    base = GaussianDenoiser.fit(_correlated(), rank=3)
    draws = base.sample(400_000, torch.Generator().manual_seed(1)).double()
    alpha, sigma = alpha2**0.5, (1 - alpha2) ** 0.5
    generator = torch.Generator().manual_seed(2)
    x0 = base.sample(3, generator)
    x_t = alpha * x0 + sigma * torch.randn(3, 5, generator=generator)
    closed = base.posterior_mean(x_t, torch.full((3,), alpha), torch.full((3,), sigma))
    for i in range(3):
        log_w = -((x_t[i].double() - alpha * draws) ** 2).sum(1) / (2 * sigma**2)
        w = torch.softmax(log_w, 0)
        monte_carlo = (w[:, None] * draws).sum(0)
        spread = float(torch.sqrt(torch.diag(base.covariance())).max())
        assert torch.allclose(closed[i].double(), monte_carlo, atol=0.05 * spread)


def test_forward_follows_the_denoiser_contract():
    base = GaussianDenoiser.fit(_correlated(200), rank=2, prediction="v")
    x_t = torch.randn(4, 5)
    alpha, sigma = torch.full((4,), 0.8), torch.full((4,), 0.6)
    out = base({"x_t": x_t, "alpha": alpha, "sigma": sigma})
    back = x0_from_prediction("v", out["prediction"], x_t, alpha, sigma)
    assert torch.allclose(back, out["x0"], atol=1e-5)


def test_sampling_with_the_base_alone_draws_the_base_distribution():
    # a fresh model preconditioned by this base samples exactly this Gaussian
    base = GaussianDenoiser.fit(_correlated(), rank=2, prediction="x0")
    process = GaussianDiffusion(1000, prediction="x0")
    x = process.sample(base, (20_000, 5), steps=250, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(x.mean(0), base.mean, atol=0.05)
    cov = torch.cov(x.T)
    target = base.covariance()
    assert torch.allclose(cov, target, atol=0.05 * float(target.diag().max()))


def test_state_dict_round_trip_through_an_empty_shell():
    base = GaussianDenoiser.fit(_correlated(100), rank=3)
    shell = GaussianDenoiser.empty((5,), 3)
    shell.load_state_dict(base.state_dict())
    x_t = torch.randn(2, 5)
    ab = (torch.full((2,), 0.7), torch.full((2,), 0.5))
    assert torch.equal(shell.posterior_mean(x_t, *ab), base.posterior_mean(x_t, *ab))


@pytest.mark.parametrize("alpha2", [0.01, 0.5, 0.99])
def test_cavity_is_the_leave_one_out_conditional(alpha2):
    base = GaussianDenoiser.fit(_correlated(300), rank=2)
    cov = base.covariance().double()
    mu = base.mean.double()
    alpha, sigma = alpha2**0.5, (1 - alpha2) ** 0.5
    x_t = torch.randn(3, 5, generator=torch.Generator().manual_seed(4)) + alpha * mu.float()
    mean, var = base.cavity(x_t, torch.full((3,), alpha), torch.full((3,), sigma))
    # joint of (x0_i, x_t without i): condition by the textbook formula
    c_t = alpha**2 * cov + sigma**2 * torch.eye(5, dtype=torch.float64)
    for i in range(5):
        rest = [k for k in range(5) if k != i]
        cross = alpha * cov[i, rest]
        solve = torch.linalg.solve(c_t[rest][:, rest], cross)
        expected_var = cov[i, i] - cross @ solve
        for b in range(3):
            expected = mu[i] + solve @ (x_t[b, rest].double() - alpha * mu[rest])
            assert float(mean[b, i]) == pytest.approx(float(expected), abs=1e-3)
            assert float(var[b, i]) == pytest.approx(float(expected_var), rel=1e-3)
    assert torch.allclose(base.marginal_variance().double(), cov.diag(), rtol=1e-4)
