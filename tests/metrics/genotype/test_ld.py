"""r² and LD decay against scikit-allel and a brute-force loop."""

from __future__ import annotations

import allel
import numpy as np
from scipy.spatial.distance import squareform

from synthomics.metrics.genotype.ld import default_bins, ld_comparison, r_squared


def _allel_r2(G: np.ndarray) -> np.ndarray:
    # reference: scikit-allel's Rogers & Huff r on variants x samples dosages, squared
    r = allel.rogers_huff_r(np.ascontiguousarray(G.T).astype("i1"))
    R2 = squareform(r**2)
    np.fill_diagonal(R2, 1.0)
    return R2


def test_r_squared_matches_scikit_allel_on_random_dosages():
    G = np.random.default_rng(3).integers(0, 3, size=(50, 12))
    np.testing.assert_allclose(r_squared(G), _allel_r2(G), atol=1e-5)


def test_r_squared_matches_scikit_allel_on_simulated_genotypes(simulated):
    G = np.asarray(simulated.X)[:, :80]
    np.testing.assert_allclose(r_squared(G), _allel_r2(G), atol=1e-5)


def test_monomorphic_variant_has_no_r_squared():
    G = np.array([[0, 1, 2], [0, 2, 0], [0, 0, 1], [0, 1, 1]])
    r2 = r_squared(G)
    assert np.isnan(r2[0]).all() and np.isnan(r2[:, 0]).all()
    assert np.isfinite(r2[1:, 1:]).all()


def _brute_force(A, B, pos, chrom, edges):
    """Pairwise loop: per bin the mean r² of each set, and the Pearson r over all pairs."""
    ra, rb = r_squared(A), r_squared(B)
    bins = len(edges) - 1
    sums_a, sums_b, counts = np.zeros(bins), np.zeros(bins), np.zeros(bins)
    xa, xb = [], []
    for i in range(len(pos)):
        for j in range(len(pos)):
            d = abs(pos[j] - pos[i])
            if chrom[i] != chrom[j] or not (pos[i] < pos[j]) or d > edges[-1]:
                continue
            if np.isnan(ra[i, j]) or np.isnan(rb[i, j]):
                continue
            k = int(np.searchsorted(edges, d, side="left")) - 1
            sums_a[k] += ra[i, j]
            sums_b[k] += rb[i, j]
            counts[k] += 1
            xa.append(ra[i, j])
            xb.append(rb[i, j])
    with np.errstate(invalid="ignore"):
        return sums_a / counts, sums_b / counts, counts, np.corrcoef(xa, xb)[0, 1]


def test_ld_decay_bins_match_a_brute_force_loop():
    rng = np.random.default_rng(5)
    A = rng.integers(0, 3, size=(30, 14))
    B = A.copy()
    B[:, 3:] = rng.integers(0, 3, size=(30, 11))  # only partly the same
    A[:, 4] = 1  # monomorphic in A: its pairs are left out
    # two chromosomes, unsorted on input; positions up to 5 kb apart
    chrom = np.array(["2"] * 6 + ["1"] * 8)
    pos = np.array([500, 10, 3000, 120, 4800, 60, 5, 90, 1500, 30, 700, 2500, 4000, 50])
    edges = np.array([0.0, 50.0, 500.0, 2000.0, 4000.0])
    result = ld_comparison(A, B, pos, chrom, edges, block_variants=3)
    ref_a, ref_b, counts, corr = _brute_force(A, B, pos, chrom, edges)
    np.testing.assert_array_equal(result.pairs, counts)
    np.testing.assert_allclose(result.reference, ref_a, atol=1e-5)
    np.testing.assert_allclose(result.candidate, ref_b, atol=1e-5)
    np.testing.assert_allclose(result.r2_pearson, corr, atol=1e-5)
    assert result.max_gap == np.nanmax(np.abs(ref_b - ref_a)).round(6) or np.isclose(
        result.max_gap, np.nanmax(np.abs(ref_b - ref_a)), atol=1e-5
    )


def test_identical_sets_have_no_gap_and_full_correlation(simulated):
    G = np.asarray(simulated.X)
    result = ld_comparison(G, G, simulated.var["pos"], simulated.var["chrom"])
    assert result.max_gap == 0.0
    assert np.isclose(result.r2_pearson, 1.0)
    assert result.n_pairs == result.pairs.sum() > 1000
    # linked variants: the shortest-distance bins hold more LD than the longest
    filled = np.flatnonzero(result.pairs > 50)
    assert result.reference[filled[0]] > result.reference[filled[-1]]


def test_default_bins_are_log_spaced_up_to_the_largest_distance():
    edges = default_bins(50_000)
    assert edges[0] == 0 and edges[1] == 10 and edges[-1] == 50_000
    assert np.all(np.diff(edges) > 0)
    assert default_bins(5e9)[-1] == 1_000_000
