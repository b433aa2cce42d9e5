"""Dirichlet-multinomial mixture: recovers K, the weights and the Dirichlet parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.container import microbiome_anndata
from synthomics.generators import get_generator
from synthomics.generators.dmm import (
    CountTable,
    _hessian_log_det,
    _objective,
    fit_dmm,
    sample_dirichlet,
)

WEIGHTS = np.array([0.3, 0.7])


def simulate_dmm(n, alpha, weights, depth, rng):
    """Reads from a DMM, written with numpy's own Dirichlet and multinomial samplers."""
    components = rng.choice(len(weights), size=n, p=weights)
    probs = np.vstack([rng.dirichlet(alpha[k]) for k in components])
    return rng.multinomial(depth, probs), components


@pytest.fixture(scope="module")
def two_types():
    rng = np.random.default_rng(10)
    S = 15
    base = rng.dirichlet(np.ones(S))
    other = np.roll(base, 5)
    alpha = np.vstack([base * 50, other * 30])  # precisions 50 and 30
    counts, components = simulate_dmm(400, alpha, WEIGHTS, 1500, rng)
    ids = [f"S{i}" for i in range(len(counts))]
    adata = microbiome_anndata(counts, ids, [f"t{j}" for j in range(S)], units="counts")
    return adata, alpha, components


def test_chooses_k_and_recovers_weights_and_alpha(two_types):
    adata, alpha, _components = two_types
    model = get_generator("dmm", n_components=[1, 2, 3], seed=0).fit(adata)
    assert model.chosen_components() == 2
    fitted = model.levels_[0].arrays
    order = np.argsort(fitted["weights"])  # the smaller component first, like WEIGHTS
    np.testing.assert_allclose(fitted["weights"][order], WEIGHTS, atol=0.06)
    est = fitted["alpha"][order]
    # component means alpha / A within 0.02 (L1 over 15 taxa < 0.1), precisions within 25%
    for k in range(2):
        mean_true = alpha[k] / alpha[k].sum()
        mean_est = est[k] / est[k].sum()
        assert np.abs(mean_true - mean_est).sum() < 0.1
        assert est[k].sum() == pytest.approx(alpha[k].sum(), rel=0.25)
    criteria = {c: fitted[c] for c in ("laplace", "bic", "aic")}
    assert all(int(np.argmin(v)) == 1 for v in criteria.values())


def test_samples_follow_the_fitted_mixture(two_types):
    adata, _, _ = two_types
    model = get_generator("dmm", n_components=[2], seed=0).fit(adata)
    out = model.sample(2000, seed=3, library_size=1500)
    real = np.asarray(adata.X) / 1500
    fake = out.layers["counts"] / 1500
    np.testing.assert_allclose(fake.mean(axis=0), real.mean(axis=0), atol=0.01)
    # overdispersion relative to a multinomial survives: per-taxon variances agree
    np.testing.assert_allclose(fake.var(axis=0), real.var(axis=0), rtol=0.3, atol=1e-4)


def test_gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(11)
    counts, _ = simulate_dmm(30, np.array([[2.0, 1.0, 0.5, 0.2]]), np.array([1.0]), 50, rng)
    table = CountTable.from_dense(counts)
    z = rng.uniform(0.2, 1.0, size=(30, 1))
    lam = np.log(np.array([1.5, 0.7, 0.4, 0.3]))
    # gradient: central differences of the objective
    h = 1e-5
    numeric = [
        (_objective(lam + h * e, table, z)[0] - _objective(lam - h * e, table, z)[0]) / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(_objective(lam, table, z)[1], numeric, atol=1e-6)
    # Hessian log-determinant: against a numerically differentiated gradient
    eps = 1e-6
    H = np.column_stack(
        [
            (_objective(lam + eps * e, table, z)[1] - _objective(lam - eps * e, table, z)[1])
            / (2 * eps)
            for e in np.eye(4)
        ]
    )
    _, expected = np.linalg.slogdet((H + H.T) / 2)
    assert _hessian_log_det(lam, table, z[:, 0]) == pytest.approx(expected, abs=1e-4)


def test_em_never_increases_the_objective_much_and_converges():
    rng = np.random.default_rng(12)
    alpha = np.vstack([np.full(8, 2.0), np.linspace(0.2, 4, 8)])
    counts, _ = simulate_dmm(150, alpha, np.array([0.5, 0.5]), 300, rng)
    fit = fit_dmm(CountTable.from_dense(counts), 2, rng=np.random.default_rng(0))
    assert fit.n_iter < 200
    np.testing.assert_allclose(fit.responsibilities.sum(axis=1), 1.0)
    assert np.isfinite(fit.criteria(150)["laplace"])


def test_dirichlet_sampler_handles_tiny_parameters():
    rng = np.random.default_rng(13)
    tiny = np.full((500, 20), 1e-4)
    draws = sample_dirichlet(tiny, rng)
    assert np.all(np.isfinite(draws))
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
    alpha = np.array([[2.0, 3.0, 5.0]])
    means = sample_dirichlet(np.repeat(alpha, 20000, axis=0), rng).mean(axis=0)
    np.testing.assert_allclose(means, alpha[0] / 10, atol=0.01)


@pytest.mark.shared
@pytest.mark.slow
def test_twins_laplace_chooses_four_community_types(shared_data):
    """The paper's example: DirichletMultinomial's vignette finds K = 4 by Laplace on the
    Twins genus table; its fitted 4-component assignments ship with the data."""
    folder = shared_data / "microbiome" / "twins"
    counts = pd.read_csv(folder / "counts.tsv", sep="\t", index_col=0)
    meta = pd.read_csv(folder / "sample_metadata.tsv", sep="\t", index_col=0)
    adata = microbiome_anndata(counts.to_numpy(), counts.index, counts.columns, units="counts")
    model = get_generator("dmm", n_components=[3, 4, 5], seed=0).fit(adata)
    assert model.chosen_components() == 4
    from sklearn.metrics import adjusted_rand_score

    ours = fit_dmm(
        CountTable.from_dense(counts.to_numpy().astype(np.int64)), 4, rng=np.random.default_rng(0)
    ).responsibilities.argmax(axis=1)
    # measured 0.95: the same community types as the package's fit
    assert adjusted_rand_score(meta.loc[counts.index, "dmn_k4_component"], ours) > 0.85
