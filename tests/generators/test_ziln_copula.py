"""ZILN + Gaussian copula (SparseDOSSA 2 model): recovers what it was built to fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from synthomics.container import microbiome_anndata
from synthomics.generators import get_generator
from synthomics.generators.ziln_copula import (
    fit_zero_inflated_lognormal,
    latent_normal_scores,
    ziln_from_latent,
)


def simulate_ziln(n, zero_prob, mu, sigma, corr, rng):
    """Absolute abundances from the ZILN-copula model, written out independently of the
    package: g ~ N(0, C), u = Phi(g), absent if u <= pi, else exp(mu + sigma Phi^-1(...))."""
    g = rng.multivariate_normal(np.zeros(len(mu)), corr, size=n)
    u = stats.norm.cdf(g)
    present = u > zero_prob
    q = np.clip((u - zero_prob) / (1 - zero_prob), 1e-12, 1 - 1e-12)
    a = np.where(present, np.exp(mu + sigma * stats.norm.ppf(q)), 0.0)
    a[~present.any(axis=1), 0] = 1e-3  # keep every sample non-empty
    return a


@pytest.fixture(scope="module")
def truth():
    rng = np.random.default_rng(7)
    p = 30
    zero_prob = np.linspace(0.05, 0.7, p)
    mu = rng.normal(-4, 1.0, p)
    sigma = rng.uniform(0.5, 1.2, p)
    corr = np.eye(p)
    block = slice(0, 6)
    corr[block, block] = 0.6
    np.fill_diagonal(corr, 1.0)
    # a dominant, always-present taxon keeps the sample totals nearly constant, so the
    # relative-abundance parameters equal the absolute ones up to one shared constant
    zero_prob[-1], mu[-1], sigma[-1] = 0.0, 2.0, 0.05
    a = simulate_ziln(4000, zero_prob, mu, sigma, corr, rng)
    P = a / a.sum(axis=1, keepdims=True)
    ids = [f"S{i}" for i in range(len(P))]
    adata = microbiome_anndata(P, ids, [f"t{j}" for j in range(p)], units="proportion")
    return dict(zero_prob=zero_prob, mu=mu, sigma=sigma, corr=corr, adata=adata)


def test_recovers_zero_probabilities_lognormal_means_and_sds(truth):
    model = get_generator("ziln_copula", seed=1).fit(truth["adata"])
    fitted = model.levels_[0].arrays
    # binomial sd of a zero fraction at n = 4000 is at most 0.008: tolerance 4 sd
    np.testing.assert_allclose(fitted["zero_prob"], truth["zero_prob"], atol=0.03)
    # means are on the relative scale: compare after removing the shared log total
    shift = np.median(fitted["mu"][:-1] - truth["mu"][:-1])
    np.testing.assert_allclose(fitted["mu"][:-1] - shift, truth["mu"][:-1], atol=0.1)
    np.testing.assert_allclose(fitted["sigma"][:-1], truth["sigma"][:-1], rtol=0.1)


def test_recovers_the_copula_block(truth):
    model = get_generator("ziln_copula", seed=1, shrinkage=0.0).fit(truth["adata"])
    from synthomics.generators.copula import LowRankCorrelation

    dense = LowRankCorrelation.from_state(model.levels_[0].arrays, "copula/").dense()
    within = dense[:6, :6][np.triu_indices(6, 1)]
    outside = dense[6:29, 6:29][np.triu_indices(23, 1)]
    # zeros scored by their conditional mean attenuate the estimate of the true 0.6
    assert 0.45 < within.mean() < 0.65  # measured 0.58
    assert abs(outside.mean()) < 0.03


def test_samples_reproduce_prevalence_and_cooccurrence(truth):
    model = get_generator("ziln_copula", seed=1).fit(truth["adata"])
    out = model.sample(4000, seed=2)
    real = np.asarray(truth["adata"].X) > 0
    fake = np.asarray(out.X) > 0
    np.testing.assert_allclose(fake.mean(axis=0), real.mean(axis=0), atol=0.04)
    # co-occurrence of the correlated block survives (phi coefficient of taxa 1 and 2)
    phi_real = np.corrcoef(real[:, 1], real[:, 2])[0, 1]
    phi_fake = np.corrcoef(fake[:, 1], fake[:, 2])[0, 1]
    assert phi_real > 0.2 and phi_fake > 0.5 * phi_real


def test_marginal_fit_by_hand():
    P = np.array([[0.0, 0.5], [0.2, 0.5], [0.4, 0.0], [0.0, 0.5]])
    zero_prob, mu, sigma = fit_zero_inflated_lognormal(P, min_sigma=0.0)
    np.testing.assert_allclose(zero_prob, [0.5, 0.25])
    np.testing.assert_allclose(mu, [np.log(0.2 * 0.4) / 2, np.log(0.5)])
    np.testing.assert_allclose(sigma, [abs(np.log(0.2) - np.log(0.4)) / 2, 0.0], atol=1e-12)


def test_latent_scores_by_hand():
    P = np.array([[0.0], [0.1], [0.3], [0.0]])
    scores = latent_normal_scores(P, np.array([0.5]))
    a = special.ndtri(0.5)
    zero = -stats.norm.pdf(a) / stats.norm.cdf(a)  # E[g | g <= 0] = -sqrt(2/pi)
    assert scores[0, 0] == pytest.approx(zero) == pytest.approx(-np.sqrt(2 / np.pi))
    # non-zeros at mid-ranks 1/4 and 3/4 of the upper half: Phi^-1(0.625), Phi^-1(0.875)
    np.testing.assert_allclose(scores[1:3, 0], special.ndtri([0.625, 0.875]))


def test_every_sample_keeps_a_taxon():
    g = np.full((5, 3), -10.0)  # every taxon absent
    out = ziln_from_latent(g, np.array([0.5, 0.2, 0.9]), np.zeros(3), np.ones(3))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert (out[:, 1] == 1.0).all()  # the taxon with the smallest zero probability
