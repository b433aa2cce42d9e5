"""Hamming distances against SciPy, and with missing calls by hand."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from synthomics.metrics.genotype.distances import (
    Coded,
    HammingNeighbours,
    hamming_matrix,
    nearest_hamming,
)


def test_hamming_matches_scipy():
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 3, size=(17, 40)), rng.integers(0, 3, size=(9, 40))
    np.testing.assert_allclose(
        hamming_matrix(A, B, block_rows=4), cdist(A, B, "hamming"), atol=1e-6
    )
    np.testing.assert_allclose(hamming_matrix(A), cdist(A, A, "hamming"), atol=1e-6)


def test_missing_calls_are_left_out_of_the_comparison():
    A = np.array([[0, 1, 2, -1], [-1, -1, -1, -1]])
    B = np.array([[0, 2, -1, 1]])
    # row 0 vs B: variants 0 and 1 called in both, one differs -> 1/2; row 1: nothing -> 1
    np.testing.assert_allclose(hamming_matrix(A, B), [[0.5], [1.0]])


def test_nearest_neighbours_and_self_exclusion():
    rng = np.random.default_rng(1)
    A = rng.integers(0, 3, size=(30, 25))
    D = cdist(A, A, "hamming")
    np.fill_diagonal(D, np.inf)
    coded = Coded(A)
    np.testing.assert_allclose(
        nearest_hamming(coded, coded, exclude_self=True, block_rows=7), D.min(1), atol=1e-6
    )
    search = HammingNeighbours({"R": A, "S": A[:5]})
    assert np.all(search("S", "R") == 0.0)  # exact copies are at exactly 0
