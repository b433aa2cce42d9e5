"""Low-rank-plus-diagonal Gaussian copula correlations against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf_shrinkage as sklearn_shrinkage

from synthomics.generators.copula import LowRankCorrelation, ledoit_wolf_shrinkage


def _factor_data(n, p, rng, loading=0.8):
    """Scores with a one-factor structure on the first half of the columns."""
    f = rng.standard_normal((n, 1))
    X = rng.standard_normal((n, p))
    X[:, : p // 2] += loading * f
    return X


@pytest.mark.parametrize(("n", "p"), [(40, 120), (300, 30)])
def test_ledoit_wolf_matches_sklearn(n, p):
    X = _factor_data(n, p, np.random.default_rng(n))
    X -= X.mean(axis=0)
    # reference: sklearn's blockwise p x p computation
    expected = sklearn_shrinkage(X, assume_centered=True)
    assert ledoit_wolf_shrinkage(X) == pytest.approx(expected, rel=1e-4)


def test_exact_scores_give_the_sample_correlation():
    rng = np.random.default_rng(0)
    X = _factor_data(200, 12, rng)
    corr = LowRankCorrelation.from_scores(X, shrinkage=0.0)
    # reference: numpy's Pearson correlation (the diagonal guard moves 1e-4 off the factor)
    np.testing.assert_allclose(corr.dense(), np.corrcoef(X.T), atol=2e-4)
    assert corr.rank == 12


def test_shrinkage_blends_towards_identity():
    rng = np.random.default_rng(1)
    X = _factor_data(60, 40, rng)
    corr = LowRankCorrelation.from_scores(X, shrinkage="ledoit_wolf")
    s = corr.shrinkage
    assert 0 < s < 1
    Z = (X - X.mean(0)) / X.std(0)
    expected = (1 - s) * np.corrcoef(X.T) + s * np.eye(40)
    assert s == pytest.approx(ledoit_wolf_shrinkage(Z))
    np.testing.assert_allclose(corr.dense(), expected, atol=2e-4)


def test_low_rank_scores_keep_unit_diagonal_and_top_structure():
    rng = np.random.default_rng(2)
    X = _factor_data(1500, 1200, rng)
    corr = LowRankCorrelation.from_scores(X, rank=5, shrinkage=0.0, rng=rng)
    assert corr.rank == 5
    dense = corr.dense()
    np.testing.assert_allclose(np.diag(dense), 1.0, atol=1e-12)
    # true within-block correlation 0.64 / 1.64 = 0.39; outside 0
    within = dense[:600, :600][np.triu_indices(600, 1)].mean()
    across = dense[:600, 600:].mean()
    assert within == pytest.approx(0.64 / 1.64, abs=0.03)
    assert abs(across) < 0.01


def test_from_matrix_projects_indefinite_input_onto_correlations():
    bad = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])  # indefinite
    assert np.linalg.eigvalsh(bad).min() < 0
    corr = LowRankCorrelation.from_matrix(bad)
    dense = corr.dense()
    assert np.linalg.eigvalsh(dense).min() > 0
    np.testing.assert_allclose(np.diag(dense), 1.0, atol=1e-12)
    good = np.array([[1.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(LowRankCorrelation.from_matrix(good).dense(), good, atol=1e-3)


def test_randomized_matrix_path_recovers_a_factor_model():
    rng = np.random.default_rng(3)
    p = 1100
    loadings = np.zeros((p, 2))
    loadings[:500, 0] = 0.7
    loadings[500:900, 1] = 0.6
    C = loadings @ loadings.T
    np.fill_diagonal(C, 1.0)
    corr = LowRankCorrelation.from_matrix(C.astype(np.float32), rng=rng)
    assert corr.rank <= 200
    np.testing.assert_allclose(corr.dense(), C, atol=1e-3)


def test_sampling_reproduces_the_correlation():
    C = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 1.0]])
    corr = LowRankCorrelation.from_matrix(C)
    draws = corr.sample(40_000, np.random.default_rng(4))
    # standard error of a correlation at n = 40,000 is about 0.005
    np.testing.assert_allclose(np.corrcoef(draws.T), C, atol=0.02)
    rows = np.repeat(np.arange(40_000), 3)
    cols = np.tile(np.arange(3), 40_000)
    entries = corr.sample_entries(40_000, rows, cols, np.random.default_rng(5)).reshape(-1, 3)
    np.testing.assert_allclose(np.corrcoef(entries.T), C, atol=0.02)
    np.testing.assert_allclose(entries.std(axis=0), 1.0, atol=0.02)


def test_factor_columns_have_a_sign_convention():
    # eigen- and singular vectors are defined up to sign and LAPACK's choice varies with
    # the number of threads: each factor column has its largest entry positive, so that
    # a seed draws the same samples everywhere
    rng = np.random.default_rng(3)
    X = _factor_data(300, 40, rng)
    matrix = np.corrcoef(X.T)
    for corr in (
        LowRankCorrelation.from_scores(X),
        LowRankCorrelation.from_scores(X, rank=5, rng=np.random.default_rng(0)),
        LowRankCorrelation.from_matrix(matrix),
        LowRankCorrelation.from_matrix(matrix, rank=5, rng=np.random.default_rng(0)),
    ):
        columns = np.arange(corr.rank)
        largest = corr.factor[np.argmax(np.abs(corr.factor), axis=0), columns]
        assert np.all(largest > 0)
    # a negated column gives the same correlation but, without the convention, other draws
    flipped = LowRankCorrelation(-corr.factor, corr.diagonal)
    np.testing.assert_allclose(flipped.dense(), corr.dense())
