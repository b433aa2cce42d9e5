"""Beta diversity: how the distances within and between two sets compare.

For a distance ``d`` (Bray-Curtis, Jaccard, weighted or unweighted UniFrac) and a real
set ``R`` and a synthetic set ``S``:

* the dispersion gap ``|mean d(S_i, S_j) - mean d(R_i, R_j)|`` over pairs ``i < j``;
* the energy distance ``2 E[d(R, S)] - E[d(R, R')] - E[d(S, S')]`` (Székely & Rizzo
  2013), with the within-set means over distinct pairs (U-statistics, unbiased: 0 in
  expectation for two samples of one population) or, with ``unbiased=False``, over all
  ``n²`` pairs including the zero diagonal (V-statistics, SciPy's and dcor's default);
* PERMANOVA real vs synthetic (:mod:`synthomics.metrics.permanova`).

:func:`summarize_distances` streams the three means block by block, so memory stays
bounded for any number of samples; the distance matrix is only held whole where
PERMANOVA needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthomics.metrics.distances import DEFAULT_BLOCK_ROWS, PairwiseDistance, _blocks


@dataclass(frozen=True)
class DistanceSummary:
    """Mean distances within and between two sets of samples.

    ``within_a`` and ``within_b`` average over distinct pairs ``i < j``.
    """

    within_a: float
    within_b: float
    between: float
    n_a: int
    n_b: int

    @property
    def dispersion_gap(self) -> float:
        """``|within_b - within_a|``."""
        return abs(self.within_b - self.within_a)

    def energy(self, unbiased: bool = True) -> float:
        """Energy distance from the means (U- or V-statistic, module docstring)."""
        within_a, within_b = self.within_a, self.within_b
        if not unbiased:
            within_a *= (self.n_a - 1) / self.n_a
            within_b *= (self.n_b - 1) / self.n_b
        return 2.0 * self.between - within_a - within_b


def _upper_mean(D: np.ndarray) -> float:
    n = D.shape[0]
    if n < 2:
        return float("nan")
    return float((D.sum() - np.trace(D)) / (n * (n - 1)))


def summary_from_blocks(d_ab: np.ndarray, d_aa: np.ndarray, d_bb: np.ndarray) -> DistanceSummary:
    """:class:`DistanceSummary` from the three blocks of a distance matrix."""
    return DistanceSummary(
        _upper_mean(d_aa), _upper_mean(d_bb), float(np.mean(d_ab)), d_aa.shape[0], d_bb.shape[0]
    )


def summarize_distances(
    engine: PairwiseDistance,
    rows_a: np.ndarray,
    rows_b: np.ndarray,
    block_rows: int = DEFAULT_BLOCK_ROWS,
) -> DistanceSummary:
    """Stream the within- and between-set mean distances, one row block at a time.

    Memory is ``block_rows x (len(rows_a) + len(rows_b))`` floats.
    """
    rows_a, rows_b = np.asarray(rows_a), np.asarray(rows_b)
    sums = {"aa": 0.0, "bb": 0.0, "ab": 0.0}
    for key, rows, other in (("aa", rows_a, rows_a), ("bb", rows_b, rows_b)):
        for start, stop in _blocks(len(rows), block_rows):
            # pairs i < j only: columns from `start` on, diagonal excluded below
            block = engine.block(rows[start:stop], other[start:])
            local = np.arange(stop - start)
            block[local, local] = 0.0
            sums[key] += float(np.triu(block).sum())
    for start, stop in _blocks(len(rows_a), block_rows):
        sums["ab"] += float(engine.block(rows_a[start:stop], rows_b).sum())
    n_a, n_b = len(rows_a), len(rows_b)
    pairs_a, pairs_b = n_a * (n_a - 1) / 2, n_b * (n_b - 1) / 2
    return DistanceSummary(
        sums["aa"] / pairs_a if pairs_a else float("nan"),
        sums["bb"] / pairs_b if pairs_b else float("nan"),
        sums["ab"] / (n_a * n_b),
        n_a,
        n_b,
    )


def energy_distance(
    d_ab: np.ndarray, d_aa: np.ndarray, d_bb: np.ndarray, unbiased: bool = True
) -> float:
    """Energy distance from the cross and within distance matrices of two sets.

    Examples
    --------
    Two points at 0 and two at 1 on a line: ``2 * 1 - 0 - 0``.

    >>> a, b = np.array([0.0, 0.0]), np.array([1.0, 1.0])
    >>> d = lambda x, y: np.abs(x[:, None] - y[None, :])
    >>> energy_distance(d(a, b), d(a, a), d(b, b))
    2.0
    """
    return summary_from_blocks(np.asarray(d_ab), np.asarray(d_aa), np.asarray(d_bb)).energy(
        unbiased
    )


def dispersion_gap(d_aa: np.ndarray, d_bb: np.ndarray) -> float:
    """``|mean within-b distance - mean within-a distance|`` over distinct pairs."""
    return abs(_upper_mean(np.asarray(d_bb)) - _upper_mean(np.asarray(d_aa)))


def permutation_null_se(
    D: np.ndarray, n_a: int, rng: np.random.Generator, permutations: int = 100
) -> tuple[float, float]:
    """Null standard errors of the energy distance and of the within-set mean difference.

    The first ``n_a`` rows of the square distance matrix ``D`` are one set, the rest the
    other. The labels are permuted ``permutations`` times; every permutation's within-
    and between-set sums come from one matrix product ``D G`` of the distance matrix
    with the label indicators (as in :mod:`synthomics.metrics.permanova`).

    Returns
    -------
    (float, float)
        Standard deviations of the energy distance (U-statistics) and of
        ``mean within-b - mean within-a`` under relabelling.
    """
    D = np.asarray(D, dtype=np.float64)
    n = D.shape[0]
    n_b = n - n_a
    if n_a < 2 or n_b < 2:
        return float("nan"), float("nan")
    base = np.r_[np.ones(n_a), np.zeros(n_b)]
    G = np.stack([rng.permutation(base) for _ in range(permutations)], axis=1)
    row_sums = D.sum(axis=1)
    total = float(row_sums.sum())
    within_a = np.einsum("ib,ib->b", D @ G, G)  # ordered pairs, diagonal is zero
    to_a = row_sums @ G
    within_b = total - 2.0 * to_a + within_a
    between = to_a - within_a
    mean_a = within_a / (n_a * (n_a - 1))
    mean_b = within_b / (n_b * (n_b - 1))
    energy = 2.0 * between / (n_a * n_b) - mean_a - mean_b
    return float(np.std(energy, ddof=1)), float(np.std(mean_b - mean_a, ddof=1))
