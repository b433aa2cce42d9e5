"""The Gaussian diffusion process on random tensors, against closed-form references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from synthomics.diffusion.process import (
    NULL_CONDITION,
    GaussianDiffusion,
    cosine_alpha_bar,
    noise_schedule,
    prediction_from_x0,
    x0_from_prediction,
)


def test_cosine_schedule_reproduces_alpha_bar():
    # Nichol & Dhariwal (2021) eq. 17: alpha_bar_t = f(t) / f(0), betas clipped at 0.999
    T = 200
    betas = noise_schedule("cosine", T)
    f = np.cos((np.arange(T + 1) / T + 0.008) / 1.008 * np.pi / 2) ** 2
    expected = f[1:] / f[0]
    keep = betas < 0.999  # the clip only bites at the very last steps
    np.testing.assert_allclose(np.cumprod(1 - betas)[keep], expected[keep], rtol=1e-10)
    np.testing.assert_allclose(cosine_alpha_bar(np.array([0.0])), f[:1])


def test_linear_schedule_endpoints():
    # Ho et al. (2020): beta from 1e-4 to 0.02 over 1000 steps
    betas = noise_schedule("linear", 1000)
    assert betas[0] == pytest.approx(1e-4)
    assert betas[-1] == pytest.approx(0.02)
    assert np.all(np.diff(betas) > 0)


def test_unknown_schedule_and_prediction_raise():
    with pytest.raises(ValueError, match="schedule"):
        noise_schedule("quadratic", 10)
    with pytest.raises(ValueError, match="prediction"):
        GaussianDiffusion(prediction="score")


@pytest.mark.parametrize("step", [0, 250, 999])
def test_q_sample_moments(step):
    # x_t | x0 ~ N(alpha_t x0, sigma_t^2) with alpha_t^2 = alpha_bar_t, sigma_t^2 = 1 - alpha_bar_t
    process = GaussianDiffusion(1000, "cosine")
    torch.manual_seed(0)
    n = 200_000
    x0 = torch.full((n, 1), 1.5)
    x_t = process.q_sample(x0, torch.full((n,), step))
    alpha = math.sqrt(process.alpha_bar[step])
    sigma = math.sqrt(1 - process.alpha_bar[step])
    assert float(x_t.mean()) == pytest.approx(1.5 * alpha, abs=4 * sigma / math.sqrt(n) + 1e-6)
    assert float(x_t.std()) == pytest.approx(sigma, rel=0.01)


def test_q_sample_checks_shapes():
    process = GaussianDiffusion(10)
    with pytest.raises(ValueError, match="t has shape"):
        process.q_sample(torch.zeros(4, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="timesteps must lie"):
        process.q_sample(torch.zeros(2, 3), torch.tensor([0, 10]))


@pytest.mark.parametrize("kind", ["epsilon", "v", "x0"])
def test_parameterisations_invert_each_other(kind):
    torch.manual_seed(1)
    x0, noise = torch.randn(6, 4), torch.randn(6, 4)
    process = GaussianDiffusion(100, prediction=kind)
    t = torch.tensor([0, 10, 30, 50, 80, 99])
    alpha, sigma = process.alpha_sigma(t)
    x_t = alpha[:, None] * x0 + sigma[:, None] * noise
    target = process.target(x0, noise, alpha, sigma)
    # the regression target maps back to the clean sample ...
    torch.testing.assert_close(
        x0_from_prediction(kind, target, x_t, alpha, sigma), x0, atol=2e-4, rtol=1e-4
    )
    # ... and prediction_from_x0 is the inverse of x0_from_prediction
    torch.testing.assert_close(
        prediction_from_x0(kind, x0, x_t, alpha, sigma), target, atol=2e-3, rtol=1e-3
    )


def _oracle(process: GaussianDiffusion, x0: torch.Tensor):
    """A denoiser that knows the clean batch: its loss must be zero."""

    def net(inputs):
        return prediction_from_x0(
            process.prediction, x0, inputs["x_t"], inputs["alpha"], inputs["sigma"]
        )

    return net


@pytest.mark.parametrize("kind", ["epsilon", "v", "x0"])
def test_training_losses_of_an_oracle_are_zero(kind):
    process = GaussianDiffusion(50, prediction=kind)
    x0 = torch.randn(8, 3, 5)
    t = torch.arange(8) * 6
    out = process.training_losses(_oracle(process, x0), x0, t)
    assert out["loss"].shape == (8,)
    assert float(out["loss"].max()) < 1e-6
    torch.testing.assert_close(out["pred_x0"], x0, atol=1e-4, rtol=1e-4)
    assert out["x_t"].shape == x0.shape


def test_training_losses_feature_weights_and_dict_outputs():
    process = GaussianDiffusion(20, prediction="x0")
    x0 = torch.zeros(4, 2, 3)

    def net(inputs):
        prediction = torch.zeros_like(inputs["x_t"])
        prediction[:, 0] = 5.0  # wrong only on channel 0
        return {"prediction": prediction, "extra": torch.ones(1)}

    weights = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    out = process.training_losses(
        net, x0, torch.zeros(4, dtype=torch.long), feature_weights=weights
    )
    assert float(out["loss"].abs().max()) == 0.0  # channel 0 carries no weight
    assert "extra" in out["outputs"]
    unweighted = process.training_losses(net, x0, torch.zeros(4, dtype=torch.long))
    # hand computed: 3 of 6 entries off by 5 -> mean squared error 25 / 2
    torch.testing.assert_close(unweighted["loss"], torch.full((4,), 12.5))
    with pytest.raises(ValueError, match="feature_weights"):
        process.training_losses(
            net, x0, torch.zeros(4, dtype=torch.long), feature_weights=torch.ones(3)
        )


def test_training_losses_rejects_wrong_output_shape():
    process = GaussianDiffusion(20)
    with pytest.raises(ValueError, match="denoiser output shape"):
        process.training_losses(
            lambda inputs: torch.zeros(4, 2), torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)
        )


def test_condition_dropout_rate():
    process = GaussianDiffusion(20)
    seen = {}

    def net(inputs):
        seen["cond"] = inputs["cond"]
        return torch.zeros_like(inputs["x_t"])

    n = 20_000
    cond = torch.ones(n, dtype=torch.long)
    generator = torch.Generator().manual_seed(0)
    process.training_losses(
        net,
        torch.zeros(n, 1),
        torch.zeros(n, dtype=torch.long),
        cond=cond,
        condition_dropout=0.25,
        generator=generator,
    )
    dropped = (seen["cond"] == NULL_CONDITION).float().mean()
    assert float(dropped) == pytest.approx(0.25, abs=0.015)
    assert set(seen["cond"].tolist()) == {NULL_CONDITION, 1}


def _gaussian_posterior_mean(mu: float, s: float):
    """Exact E[x0 | x_t] for data N(mu, s^2): the ideal x0-predicting denoiser."""

    def net(inputs):
        a = inputs["alpha"][:, None]
        sig = inputs["sigma"][:, None]
        gain = a * s**2 / (a**2 * s**2 + sig**2)
        return mu + gain * (inputs["x_t"] - a * mu)

    return net


@pytest.mark.parametrize("method,steps", [("ddim", 250), ("ddpm", 250)])
def test_samplers_recover_a_gaussian_data_distribution(method, steps):
    # With the exact denoiser of N(mu, s^2) data both samplers must return N(mu, s^2)
    # (up to the discretisation error, which shrinks with the number of steps)
    mu, s = 2.0, 0.5
    process = GaussianDiffusion(1000, prediction="x0")
    generator = torch.Generator().manual_seed(3)
    x = process.sample(
        _gaussian_posterior_mean(mu, s),
        (10_000, 1),
        steps=steps,
        method=method,
        generator=generator,
    )
    assert x.shape == (10_000, 1)
    assert float(x.mean()) == pytest.approx(mu, abs=0.025)
    assert float(x.std()) == pytest.approx(s, rel=0.03)


def test_ddim_discretisation_error_shrinks_with_steps():
    # few deterministic steps under-disperse a Gaussian; the error must fall with more steps
    process = GaussianDiffusion(1000, prediction="x0")
    net = _gaussian_posterior_mean(0.0, 0.5)
    errors = []
    for steps in (10, 50, 500):
        x = process.sample(net, (5000, 1), steps=steps, generator=torch.Generator().manual_seed(0))
        errors.append(abs(float(x.std()) - 0.5))
    assert errors[0] > errors[1] > errors[2]


def test_sampling_is_seeded_and_progress_reported():
    process = GaussianDiffusion(100)
    net = _gaussian_posterior_mean(0.0, 1.0)
    calls = []
    a = process.sample(
        net,
        (5, 3),
        steps=10,
        method="ddpm",
        generator=torch.Generator().manual_seed(7),
        progress=calls.append,
    )
    b = process.sample(
        net, (5, 3), steps=10, method="ddpm", generator=torch.Generator().manual_seed(7)
    )
    torch.testing.assert_close(a, b)
    assert calls[-1] == 10
    assert len(process.timestep_sequence(10)) == 10
    assert process.timestep_sequence(10)[0] == 99 and process.timestep_sequence(10)[-1] == 0


def test_classifier_free_guidance_combines_branches():
    # x0-predicting net: class 0 -> 1, class 1 -> 3, unconditional -> 0; final sample is the
    # guided x0 prediction u + s (c - u)
    process = GaussianDiffusion(100, prediction="x0")
    values = {NULL_CONDITION: 0.0, 0: 1.0, 1: 3.0}

    def net(inputs):
        out = torch.tensor([values[int(c)] for c in inputs["cond"]])
        return out[:, None].expand_as(inputs["x_t"]).clone()

    cond = torch.tensor([0, 1, 1])
    for scale in (0.0, 1.0, 2.5):
        x = process.sample(
            net,
            (3, 2),
            cond=cond,
            guidance_scale=scale,
            steps=5,
            generator=torch.Generator().manual_seed(0),
        )
        expected = torch.tensor([1.0, 3.0, 3.0]) * scale
        torch.testing.assert_close(x[:, 0], expected)


def test_denoised_fn_clips_predictions():
    process = GaussianDiffusion(100, prediction="x0")
    x = process.sample(
        lambda inputs: torch.full_like(inputs["x_t"], 10.0),
        (4, 2),
        steps=5,
        denoised_fn=lambda x0: x0.clamp(-1, 1),
        generator=torch.Generator().manual_seed(0),
    )
    assert float(x.max()) == 1.0


def test_self_conditioning_feeds_the_first_estimate():
    process = GaussianDiffusion(50, prediction="x0")
    seen = []

    def net(inputs):
        seen.append(inputs["x0_self"].clone())
        return torch.full_like(inputs["x_t"], 3.0)  # x0 prediction 3 everywhere

    n = 2000
    process.training_losses(
        net,
        torch.zeros(n, 2),
        torch.zeros(n, dtype=torch.long),
        self_condition=True,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(seen) == 2 and float(seen[0].abs().max()) == 0.0  # first pass sees zeros
    fed = seen[1][:, 0] == 3.0
    assert float(fed.float().mean()) == pytest.approx(0.5, abs=0.05)
    assert set(seen[1].unique().tolist()) == {0.0, 3.0}
    seen.clear()
    process.sample(
        net, (4, 2), steps=3, self_condition=True, generator=torch.Generator().manual_seed(0)
    )
    assert float(seen[0].abs().max()) == 0.0 and float(seen[1].min()) == 3.0
