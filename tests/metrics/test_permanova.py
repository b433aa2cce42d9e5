"""PERMANOVA against scikit-bio (same permutations) and vegan-verified values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from skbio import DistanceMatrix
from skbio.stats.distance import permanova as skbio_permanova

from synthomics.errors import InputError
from synthomics.metrics.permanova import permanova

# distance matrices and expected pseudo-F from scikit-bio's test suite, whose docstring
# says "All results were verified with R (vegan::adonis)"
TIES = [[0, 1, 1, 4], [1, 0, 3, 2], [1, 3, 0, 3], [4, 2, 3, 0]]
NO_TIES = [[0, 1, 5, 4], [1, 0, 3, 2], [5, 3, 0, 3], [4, 2, 3, 0]]
UNEQUAL = [
    [0.0, 1.0, 0.1, 0.5678, 1.0, 1.0],
    [1.0, 0.0, 0.002, 0.42, 0.998, 0.0],
    [0.1, 0.002, 0.0, 1.0, 0.123, 1.0],
    [0.5678, 0.42, 1.0, 0.0, 0.123, 0.43],
    [1.0, 0.998, 0.123, 0.123, 0.0, 0.5],
    [1.0, 0.0, 1.0, 0.43, 0.5, 0.0],
]
EQUAL_GROUPS = ["Control", "Control", "Fast", "Fast"]
UNEQUAL_GROUPS = ["Control", "Treatment1", "Treatment2", "Treatment1", "Control", "Control"]


@pytest.mark.parametrize(
    ("matrix", "groups", "f_vegan", "p_vegan"),
    [
        (TIES, EQUAL_GROUPS, 2.0, 0.68),
        (NO_TIES, EQUAL_GROUPS, 4.4, 0.345),
        (UNEQUAL, UNEQUAL_GROUPS, 0.578848, 0.655),
    ],
)
def test_vegan_verified_values(matrix, groups, f_vegan, p_vegan):
    result = permanova(np.asarray(matrix, float), groups, permutations=999, seed=42)
    assert result.statistic == pytest.approx(f_vegan, abs=1e-6)
    assert result.p_value == pytest.approx(p_vegan, abs=0.05)  # permutation noise
    expected = skbio_permanova(DistanceMatrix(matrix), groups, permutations=999, seed=42)
    assert result.p_value == expected["p-value"]  # same permutations as scikit-bio


@pytest.mark.parametrize(("n", "n_groups", "shift"), [(24, 2, 0.05), (30, 3, 0.0), (40, 2, 0.0)])
def test_matches_skbio_on_random_data(rng, n, n_groups, shift):
    X = rng.random((n, 6))
    groups = np.arange(n) % n_groups
    X[groups == 1] += shift
    D = squareform(pdist(X, "braycurtis"))
    result = permanova(D, groups.astype(str), permutations=999, seed=7)
    expected = skbio_permanova(DistanceMatrix(D), groups.astype(str), permutations=999, seed=7)
    assert result.statistic == pytest.approx(expected["test statistic"], rel=1e-9)
    assert result.p_value == expected["p-value"]
    assert result.n_samples == n and result.n_groups == n_groups


def test_r2_by_hand():
    # two tight pairs 4 apart: SS_T = (1 + 1 + 4 * 16) / 4 = 16.5, SS_W = 1/2 + 1/2 = 1
    d = np.array([[0, 1, 4, 4], [1, 0, 4, 4], [4, 4, 0, 1], [4, 4, 1, 0]], float)
    result = permanova(d, ["a", "a", "b", "b"], permutations=0)
    assert result.r2 == pytest.approx(15.5 / 16.5, rel=1e-12)
    assert result.statistic == pytest.approx(15.5 / (1 / 2), rel=1e-12)
    assert np.isnan(result.p_value)


def test_batch_size_does_not_change_the_result(rng):
    D = squareform(pdist(rng.random((20, 4))))
    groups = np.arange(20) % 2
    a = permanova(D, groups, permutations=199, seed=3, batch=7)
    b = permanova(D, groups, permutations=199, seed=3, batch=500)
    assert a == b


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (["a"] * 4, "one group"),
        (["a", "b", "c", "d"], "its own group"),
        (["a", "b"], "group labels for 4 samples"),
    ],
)
def test_bad_groupings_are_input_errors(groups, message):
    with pytest.raises(InputError, match=message):
        permanova(np.asarray(NO_TIES, float), groups, permutations=9)
