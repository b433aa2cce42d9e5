"""The sparsity-preserving decoder and the presence/abundance transform on random tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import expit, logit

from synthomics.diffusion.process import GaussianDiffusion
from synthomics.microbiome_diffusion.decoder import (
    PresenceHead,
    presence_from_x0,
    prevalence_logit,
    sparsity_loss,
    straight_through_bernoulli,
    straight_through_threshold,
)
from synthomics.microbiome_diffusion.module import MicrobiomeDenoiser
from synthomics.microbiome_diffusion.transform import PresenceLogAbundance


def test_prevalence_logit_matches_scipy_and_clips():
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    out = prevalence_logit(p, n_samples=10).numpy()
    # scipy.special.logit reference; 0 and 1 are clipped to half a sample (0.05, 0.95)
    np.testing.assert_allclose(out, logit([0.05, 0.1, 0.5, 0.9, 0.95]), rtol=1e-12)


def test_presence_head_bias_is_logit_prevalence():
    prevalence = np.array([0.02, 0.3, 0.75, 0.5])
    head = PresenceHead(8, 4, prevalence, n_samples=100, taxon_embedding=torch.randn(4, 3))
    np.testing.assert_allclose(head.bias.detach().numpy(), logit(prevalence), rtol=1e-6)
    # weights start at zero: a fresh head predicts every taxon at its observed prevalence
    probs = torch.sigmoid(head(torch.randn(5, 8))).detach().numpy()
    np.testing.assert_allclose(probs, np.broadcast_to(prevalence, (5, 4)), rtol=1e-5)


def test_presence_head_ablation_starts_at_one_half():
    head = PresenceHead(8, 3, prevalence_init=False)
    np.testing.assert_array_equal(head.bias.detach().numpy(), np.zeros(3))
    with pytest.raises(ValueError, match="prevalence"):
        PresenceHead(8, 3)


def test_module_presence_bias_initialisation():
    prevalence = np.array([0.1, 0.6, 0.9])
    module = MicrobiomeDenoiser(3, dim=8, n_blocks=1, prevalence=prevalence, n_samples=50)
    np.testing.assert_allclose(module.presence.bias.detach().numpy(), logit(prevalence), rtol=1e-6)


@pytest.mark.parametrize("estimator", ["bernoulli", "threshold"])
def test_straight_through_gradient_equals_soft_gradient(estimator):
    torch.manual_seed(0)
    logits = torch.randn(6, 5, requires_grad=True)
    weights = torch.randn(6, 5)
    if estimator == "bernoulli":
        hard = straight_through_bernoulli(logits, torch.Generator().manual_seed(1))
    else:
        hard = straight_through_threshold(logits)
    assert set(hard.detach().unique().tolist()) <= {0.0, 1.0}  # forward values are hard
    # a linear loss: the gradient must be exactly that of the soft relaxation sigmoid(l)
    (grad_hard,) = torch.autograd.grad((weights * hard).sum(), logits)
    soft_logits = logits.detach().clone().requires_grad_(True)
    (grad_soft,) = torch.autograd.grad((weights * torch.sigmoid(soft_logits)).sum(), soft_logits)
    torch.testing.assert_close(grad_hard, grad_soft)
    # a non-linear loss: chain rule through the hard value, d/dl = 2 (sum h) sigma'(l)
    hard = straight_through_threshold(logits)
    (grad,) = torch.autograd.grad(hard.sum() ** 2, logits)
    s = torch.sigmoid(logits.detach())
    torch.testing.assert_close(grad, 2 * hard.detach().sum() * s * (1 - s))


def test_straight_through_bernoulli_draws_at_the_sigmoid_rate():
    logits = torch.tensor([-2.0, 0.0, 1.5]).repeat(40_000, 1)
    draws = straight_through_bernoulli(logits, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(draws.mean(0).numpy(), expit([-2.0, 0.0, 1.5]), atol=0.01)


def test_sparsity_loss_hand_computed():
    generated = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    real = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    losses = sparsity_loss(generated, real)
    # prevalences (1, .5, 0) vs (1, .5, .5): mean squared difference = .25 / 3
    assert float(losses["prevalence"]) == pytest.approx(0.25 / 3)
    # richness (2, 1) vs (1, 3), mean real richness 2: ((1/2)^2 + (2/2)^2) / 2
    assert float(losses["richness"]) == pytest.approx((0.25 + 1.0) / 2)
    assert float(sparsity_loss(real, real)["prevalence"]) == 0.0
    with pytest.raises(ValueError, match="batch, taxa"):
        sparsity_loss(generated, real[:, :2])


def test_presence_from_x0_keeps_one_taxon_per_sample():
    x0 = torch.tensor([[0.9, -0.2, -1.0], [-1.0, -0.4, -0.95], [1.0, 1.0, -1.0]])
    present = presence_from_x0(x0, stochastic=False)
    np.testing.assert_array_equal(
        present.numpy(), [[True, False, False], [False, True, False], [True, True, False]]
    )
    drawn = presence_from_x0(
        x0.repeat(5000, 1)[:, :1].expand(-1, 2).contiguous() * 0,
        generator=torch.Generator().manual_seed(0),
    )
    assert drawn.any(dim=1).all()


def test_module_forward_shapes_and_losses():
    torch.manual_seed(0)
    n_taxa = 7
    prevalence = np.linspace(0.1, 0.9, n_taxa)
    module = MicrobiomeDenoiser(
        n_taxa,
        dim=16,
        n_blocks=1,
        n_classes=2,
        prevalence=prevalence,
        n_samples=20,
        taxon_embedding=torch.randn(n_taxa, 3),
    )
    process = GaussianDiffusion(50)
    presence = (torch.rand(9, n_taxa) < 0.5).float()
    x0 = torch.stack([2 * presence - 1, torch.randn(9, n_taxa) * presence], dim=1)
    out = process.training_losses(
        module,
        x0,
        torch.randint(0, 50, (9,)),
        cond=torch.randint(0, 2, (9,)),
        feature_weights=module.diffusion_feature_weights,
    )
    assert out["prediction"].shape == (9, 2, n_taxa)
    assert out["outputs"]["presence_logits"].shape == (9, n_taxa)
    # the presence channel of the x0 prediction is tanh(logit / 2) = 2 sigmoid - 1
    torch.testing.assert_close(
        out["pred_x0"][:, 0],
        2 * torch.sigmoid(out["outputs"]["presence_logits"]) - 1,
        atol=1e-4,
        rtol=1e-4,
    )
    losses = module.auxiliary_losses(x0, out)
    assert set(losses) == {"presence", "prevalence", "richness"}
    total = out["loss"].mean() + sum(losses.values())
    total.backward()
    assert module.presence.readout.bias.grad is not None
    module.sparsity_weight = 0.0
    assert set(module.auxiliary_losses(x0, out)) == {"presence"}


@pytest.mark.parametrize("kind", ["clr", "log"])
def test_transform_round_trip(kind):
    rng = np.random.default_rng(0)
    raw = rng.lognormal(size=(30, 8)) * (rng.random((30, 8)) < 0.4)
    raw[:, 0] += 1.0  # every sample has a taxon
    raw[:, 5] = 0.0  # a taxon never seen
    proportions = raw / raw.sum(axis=1, keepdims=True)
    transform = PresenceLogAbundance.fit(proportions, kind)
    x = transform.encode(proportions)
    assert x.shape == (30, 2, 8) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0] > 0, proportions > 0)
    assert np.all(x[:, 1][proportions == 0] == 0)
    back = transform.decode(x[:, 0] > 0, x[:, 1])
    np.testing.assert_allclose(back, proportions, rtol=1e-5, atol=1e-9)
    same = PresenceLogAbundance.from_state(transform.state())
    np.testing.assert_array_equal(same.values, transform.values)
    assert same.kind == kind


def test_abundance_channel_holds_normal_scores():
    # a taxon present in all 40 samples: its channel is Phi^-1((rank + 0.5) / n)
    # (scipy.stats.norm.ppf reference); rarely seen taxa get a linear (Gaussian) map
    from scipy.stats import norm, rankdata

    rng = np.random.default_rng(1)
    raw = rng.lognormal(size=(40, 5)) * (rng.random((40, 5)) < 0.5)
    raw[:, 0], raw[:, 1] = rng.lognormal(size=40), rng.lognormal(size=40)  # no ties
    raw[:3, 4], raw[3:, 4] = [1.0, 2.0, 3.0], 0.0  # taxon 4 seen 3 times
    proportions = raw / raw.sum(axis=1, keepdims=True)
    transform = PresenceLogAbundance.fit(proportions, "log", knots=64)
    x = transform.encode(proportions)
    expected = norm.ppf((rankdata(np.log(proportions[:, 0])) - 0.5) / 40)
    np.testing.assert_allclose(x[:, 1, 0], expected, atol=1e-5)
    z = x[:3, 1, 4]
    slopes = np.diff(z) / np.diff(np.log(proportions[:3, 4]))
    assert slopes[0] == pytest.approx(slopes[1], rel=1e-4)  # linear: a Gaussian map


def test_clr_abundance_is_centred_over_present_taxa():
    proportions = np.array([[0.5, 0.25, 0.25, 0.0], [0.1, 0.0, 0.0, 0.9]])
    present, logs = PresenceLogAbundance.log_abundance(proportions, "clr")
    # hand computed: log p minus the mean log p of the present taxa of the row
    row0 = np.log([0.5, 0.25, 0.25])
    np.testing.assert_allclose(logs[0, :3], row0 - row0.mean())
    np.testing.assert_allclose(logs[1, [0, 3]], np.log([0.1, 0.9]) - np.log([0.1, 0.9]).mean())
    assert logs[0, 3] == 0 and not present[0, 3]


def test_fresh_module_is_the_exact_independent_posterior():
    # Bayes with a +-1 bit, prior p, x = alpha y + sigma eps (scipy.stats.norm reference)
    from scipy.stats import norm

    prevalence = np.array([0.1, 0.5, 0.8])
    module = MicrobiomeDenoiser(3, dim=8, n_blocks=1, prevalence=prevalence, n_samples=100)
    process = GaussianDiffusion(100)
    t = torch.tensor([5, 40, 90])
    alpha, sigma = process.alpha_sigma(t)
    x_t = torch.randn(3, 2, 3)
    logits = module({"x_t": x_t, "t": t, "alpha": alpha, "sigma": sigma})["presence_logits"]
    a, s = alpha.numpy()[:, None], sigma.numpy()[:, None]
    x, z = x_t[:, 0].numpy(), x_t[:, 1].numpy()
    # present: y = 1, z ~ N(0, 1) so x_z ~ N(0, a^2 + s^2); absent: y = -1, z = 0
    present = prevalence * norm.pdf(x, a, s) * norm.pdf(z, 0, np.sqrt(a**2 + s**2))
    absent = (1 - prevalence) * norm.pdf(x, -a, s) * norm.pdf(z, 0, s)
    np.testing.assert_allclose(
        torch.sigmoid(logits).detach().numpy(), present / (present + absent), rtol=1e-4, atol=1e-6
    )


def test_fresh_module_samples_presence_at_the_observed_prevalence():
    # mechanism 1: before any training the sampler reproduces each taxon's presence rate
    # (one near-certain taxon, so that the keep-one-taxon rule of presence_from_x0 is moot)
    prevalence = np.array([0.05, 0.3, 0.5, 0.9, 0.999])
    module = MicrobiomeDenoiser(5, dim=8, n_blocks=1, prevalence=prevalence, n_samples=2000)
    process = GaussianDiffusion(1000)
    with torch.no_grad():
        x0 = process.sample(
            module, (4000, 2, 5), steps=50, generator=torch.Generator().manual_seed(0)
        )
    present = presence_from_x0(x0[:, 0], generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(present.float().mean(0).numpy(), prevalence, atol=0.025)
    # ... and the standardised abundance of present taxa at N(0, 1), 0 for absent ones
    z = x0[:, 1][present]
    assert abs(float(z.mean())) < 0.05 and abs(float(z.std()) - 1) < 0.05
    assert float(x0[:, 1][~present].abs().max()) < 1e-3


def test_fresh_conditional_module_samples_each_level_at_its_prevalence():
    prevalence = np.array([0.35, 0.5, 0.999])  # overall, from two equal levels
    class_prevalence = np.array([[0.1, 0.8, 0.999], [0.6, 0.2, 0.999]])
    module = MicrobiomeDenoiser(
        3,
        dim=8,
        n_blocks=1,
        n_classes=2,
        prevalence=prevalence,
        n_samples=2000,
        class_prevalence=class_prevalence,
        class_sizes=np.array([1000, 1000]),
    )
    process = GaussianDiffusion(1000)
    cond = torch.tensor([0, 1]).repeat_interleave(3000)
    with torch.no_grad():
        x0 = process.sample(
            module, (6000, 2, 3), cond=cond, steps=50, generator=torch.Generator().manual_seed(0)
        )
    present = presence_from_x0(x0[:, 0], generator=torch.Generator().manual_seed(1)).float()
    np.testing.assert_allclose(present[:3000].mean(0).numpy(), class_prevalence[0], atol=0.025)
    np.testing.assert_allclose(present[3000:].mean(0).numpy(), class_prevalence[1], atol=0.025)


def test_presence_evidence_and_abundance_posterior_for_a_gaussian_prior():
    # present: z ~ N(m, v), x_z = a z + s eps; absent: x_z = s eps (scipy.stats.norm reference)
    from scipy.stats import norm

    a, s = torch.tensor([0.6]), torch.tensor([0.8])
    m, log_v = torch.tensor([[0.7]]), torch.tensor([[np.log(0.3)]])
    x_t = torch.tensor([[[0.0], [1.1]]])  # presence channel 0 carries no evidence
    evidence = MicrobiomeDenoiser.independent_evidence(x_t, a, s, m, log_v)
    expected = norm.logpdf(1.1, 0.6 * 0.7, np.sqrt(0.36 * 0.3 + 0.64)) - norm.logpdf(1.1, 0, 0.8)
    assert float(evidence) == pytest.approx(expected, rel=1e-5)
    posterior = MicrobiomeDenoiser.present_abundance_posterior(x_t[:, 1], a, s, m, log_v)
    # conjugate normal update: mean = m + a v (x - a m) / (a^2 v + s^2)
    assert float(posterior) == pytest.approx(0.7 + 0.6 * 0.3 * (1.1 - 0.42) / (0.108 + 0.64))
