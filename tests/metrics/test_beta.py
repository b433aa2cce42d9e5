"""Energy distance and dispersion gap against SciPy and hand computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import energy_distance as scipy_energy

from synthomics.metrics.beta import (
    dispersion_gap,
    energy_distance,
    permutation_null_se,
    summarize_distances,
    summary_from_blocks,
)
from synthomics.metrics.distances import BrayCurtis


def _abs(x, y):
    return np.abs(x[:, None] - y[None, :])


def test_v_statistic_matches_scipy(rng):
    # scipy.stats.energy_distance(u, v) = sqrt(2E|X-Y| - E|X-X'| - E|Y-Y'|), V-statistics
    x, y = rng.normal(size=13), rng.normal(0.5, 2.0, size=9)
    ours = energy_distance(_abs(x, y), _abs(x, x), _abs(y, y), unbiased=False)
    assert ours == pytest.approx(scipy_energy(x, y) ** 2, rel=1e-12)


def test_u_statistic_by_hand():
    x, y = np.array([0.0, 1.0, 3.0]), np.array([2.0, 2.0])
    # E|X-Y| = (2+2+1+1+1+1)/6 = 4/3; within x over distinct pairs: (1+3+2)/3 = 2; y: 0
    assert energy_distance(_abs(x, y), _abs(x, x), _abs(y, y)) == pytest.approx(2 * 4 / 3 - 2)
    assert dispersion_gap(_abs(x, x), _abs(y, y)) == pytest.approx(2.0)


@pytest.mark.parametrize("block_rows", [1, 3, 64])
def test_streamed_summary_equals_full_matrix(rng, block_rows):
    P = rng.dirichlet(np.ones(8), size=17)
    engine = BrayCurtis(P)
    a, b = np.arange(0, 10), np.arange(10, 17)
    D = engine.matrix()
    full = summary_from_blocks(D[np.ix_(a, b)], D[np.ix_(a, a)], D[np.ix_(b, b)])
    streamed = summarize_distances(engine, a, b, block_rows=block_rows)
    for field in ("within_a", "within_b", "between"):
        assert getattr(streamed, field) == pytest.approx(getattr(full, field), rel=1e-12)
    assert streamed.energy() == pytest.approx(full.energy(), rel=1e-10, abs=1e-14)


def test_permutation_null_se_matches_a_loop(rng):
    P = rng.dirichlet(np.ones(6), size=20)
    D = BrayCurtis(P).matrix()
    energy_se, gap_se = permutation_null_se(D, 8, np.random.default_rng(3), permutations=30)
    # the same relabellings, each evaluated block by block
    replay = np.random.default_rng(3)
    base = np.r_[np.ones(8), np.zeros(12)]
    energies, gaps = [], []
    for _ in range(30):
        labels = replay.permutation(base).astype(bool)
        a, b = np.flatnonzero(labels), np.flatnonzero(~labels)
        summary = summary_from_blocks(D[np.ix_(a, b)], D[np.ix_(a, a)], D[np.ix_(b, b)])
        energies.append(summary.energy())
        gaps.append(summary.within_b - summary.within_a)
    assert energy_se == pytest.approx(np.std(energies, ddof=1), rel=1e-9)
    assert gap_se == pytest.approx(np.std(gaps, ddof=1), rel=1e-9)
