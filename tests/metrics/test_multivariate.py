"""Correlation difference, C2ST and PCoA overlap against SciPy, scikit-learn, scikit-bio."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from skbio import DistanceMatrix
from skbio.stats.ordination import pcoa as skbio_pcoa

from synthomics.metrics.distances import bray_curtis
from synthomics.metrics.multivariate import (
    c2st_auc,
    correlation_difference,
    overlap_coefficient,
    pcoa,
    spearman_matrix,
    top_prevalent,
)


def test_spearman_matches_scipy_with_ties(rng, make_counts):
    X = make_counts(30, 6, rng)  # many tied zeros
    np.testing.assert_allclose(spearman_matrix(X), spearmanr(X).statistic, atol=1e-12)
    X[:, 2] = 0  # constant column: no correlation defined, 0 by convention
    r = spearman_matrix(X)
    assert np.all(r[2, [0, 1, 3, 4, 5]] == 0) and r[2, 2] == 1


def test_correlation_difference_by_hand():
    real = np.array([[1, 2, 0], [2, 3, 1], [3, 4, 2], [4, 5, 0]], float)  # cols 0, 1: r = 1
    synth = real.copy()
    synth[:, 1] = synth[::-1, 1]  # cols 0, 1: r = -1; col 1 vs 2 flips sign too
    result = correlation_difference(real, synth, top_k=3)
    r_real, r_synth = spearmanr(real).statistic, spearmanr(synth).statistic
    upper = np.triu_indices(3, 1)
    assert result.value == pytest.approx(np.abs(r_real - r_synth)[upper].mean())


def test_top_prevalent():
    X = np.array([[1, 0, 1, 1], [1, 0, 0, 1], [0, 0, 0, 2]], float)
    assert list(top_prevalent(X, 2)) == [0, 3]


def test_c2st_is_cross_validated_auc(rng):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    a, b = rng.normal(size=(40, 3)), rng.normal(0.7, 1.0, size=(40, 3))
    clf = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    auc, details = c2st_auc(a, b, folds=3, seed=1, classifier=clf)
    X, y = np.vstack([a, b]), np.r_[np.zeros(40), np.ones(40)]
    expected = cross_val_score(
        clf, X, y, scoring="roc_auc", cv=StratifiedKFold(3, shuffle=True, random_state=1)
    ).mean()
    assert auc == pytest.approx(expected)
    far, _ = c2st_auc(a, a + 100, folds=3, classifier=clf)
    assert far == 1.0
    assert details["n_real"] == 40


@pytest.mark.parametrize("n", [30, 260])  # dense solver and Lanczos
def test_pcoa_matches_skbio(rng, n):
    D = bray_curtis(rng.dirichlet(np.full(12, 0.5), size=n))
    coords, explained = pcoa(D, 2)
    expected = skbio_pcoa(DistanceMatrix(D, [str(i) for i in range(n)]), number_of_dimensions=2)
    ref = expected.samples.to_numpy()[:, :2]
    np.testing.assert_allclose(np.abs(coords), np.abs(ref), atol=1e-7)  # signs are arbitrary
    eigvals = expected.eigvals.to_numpy()[:2]
    total = np.trace(-0.5 * (np.eye(n) - 1 / n) @ (D**2) @ (np.eye(n) - 1 / n))
    np.testing.assert_allclose(explained, eigvals / total, rtol=1e-7)


def test_overlap_coefficient_by_hand():
    a = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    # one bin per axis: everything overlaps
    assert overlap_coefficient(a, a[::-1], bins=1) == pytest.approx(1.0)
    # two bins: a has half its mass in each corner, b all in one: overlap 0.5
    b = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert overlap_coefficient(a, b, bins=2) == pytest.approx(0.5)
