"""Bray-Curtis, Jaccard and nearest neighbours against SciPy and scikit-bio."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist, squareform
from skbio.diversity import beta_diversity

from synthomics.errors import InputError
from synthomics.metrics.distances import (
    BrayCurtis,
    Euclidean,
    bray_curtis,
    jaccard,
    nearest_neighbours,
)


def test_bray_curtis_matches_scipy_and_skbio(rng, make_counts):
    X = make_counts(15, 12, rng)
    P = X / X.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(bray_curtis(P), squareform(pdist(P, "braycurtis")), atol=1e-12)
    ids = [str(i) for i in range(15)]
    np.testing.assert_allclose(
        bray_curtis(X), beta_diversity("braycurtis", X, ids).data, atol=1e-12
    )
    np.testing.assert_allclose(
        bray_curtis(P[:6], P[6:]), cdist(P[:6], P[6:], "braycurtis"), atol=1e-12
    )


def test_jaccard_is_presence_absence_like_skbio(rng, make_counts):
    X = make_counts(15, 12, rng)
    ids = [str(i) for i in range(15)]
    expected = beta_diversity("jaccard", X, ids).data  # scikit-bio binarises first
    np.testing.assert_allclose(jaccard(X), expected, atol=1e-12)
    np.testing.assert_allclose(jaccard(X), squareform(pdist(X > 0, "jaccard")), atol=1e-12)


def test_empty_samples_follow_the_stated_conventions():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    assert bray_curtis(X)[0, 1] == 0.0  # SciPy gives nan (0/0); 0 here, as documented
    assert bray_curtis(X)[0, 2] == 1.0
    assert jaccard(X)[0, 1] == 0.0  # as SciPy
    assert jaccard(X)[0, 2] == 1.0


@pytest.mark.parametrize("block_rows", [1, 4, 1000])
def test_blocks_do_not_change_the_matrix(rng, block_rows):
    P = rng.random((11, 5))
    engine = BrayCurtis(P)
    full = engine.matrix(block_rows=block_rows)
    np.testing.assert_allclose(full, squareform(pdist(P, "braycurtis")), atol=1e-12)
    assert np.array_equal(full, full.T)
    rows, cols = np.array([0, 3, 5]), np.array([1, 2, 9, 10])
    np.testing.assert_allclose(
        engine.matrix(rows, cols, block_rows=block_rows),
        cdist(P[rows], P[cols], "braycurtis"),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        Euclidean(P).matrix(block_rows=block_rows), squareform(pdist(P)), atol=1e-7
    )


@pytest.mark.parametrize("block_rows", [3, 1024])
def test_nearest_neighbours_are_exact(rng, block_rows):
    R = np.sqrt(rng.dirichlet(np.full(20, 0.3), size=40))
    Q = np.vstack([R[[3, 7, 7]], np.sqrt(rng.dirichlet(np.full(20, 0.3), size=10))])
    distance, index = nearest_neighbours(Q, R, block_rows=block_rows)
    full = cdist(Q, R)
    np.testing.assert_allclose(distance, full.min(axis=1), atol=1e-12)
    assert np.array_equal(index, full.argmin(axis=1))
    assert np.all(distance[:3] == 0.0)  # copies at exactly zero
    own, _ = nearest_neighbours(R, R, exclude_self=True, block_rows=block_rows)
    np.fill_diagonal(full_r := cdist(R, R), np.inf)
    np.testing.assert_allclose(own, full_r.min(axis=1), atol=1e-12)


def test_mismatched_widths_are_input_errors():
    with pytest.raises(InputError, match="mismatched"):
        bray_curtis(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(InputError, match="mismatched"):
        nearest_neighbours(np.ones((2, 3)), np.ones((2, 4)))
