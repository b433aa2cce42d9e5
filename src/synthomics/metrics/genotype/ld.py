"""Linkage disequilibrium: r² between variants, its decay with distance, real vs synthetic.

r² is the squared Pearson correlation of the dosage columns of two variants (the
genotype r² of Rogers & Huff 2009, :func:`allel.rogers_huff_r`, squared). Here it comes
from matrix products: each column is standardised (``z = (g - mean) / sd``, population
sd) and ``r = Z_i^T Z_j / n`` for a block of variants ``i`` against the variants ``j``
within the largest distance of interest, so 10,000 variants take seconds and memory
stays at ``block_variants x window`` floats. Products run in float32 (dosages are small
integers; the error on r is ~1e-6, far below any difference the metrics look at) and the
sums of the curves are accumulated in float64.

Missing calls (:data:`~synthomics.container.MISSING`) are replaced by the variant's mean
dosage, i.e. a zero after standardising: they add nothing to the covariance (scikit-allel
instead drops the pair of calls, which differs only where calls are missing).
Monomorphic variants (sd 0) have no r²; their pairs are left out (NaN).

The LD decay curve is the mean r² of variant pairs on the same chromosome, binned by the
physical distance between them (:func:`default_bins`: log-spaced from 10 bp to 1 Mb, or to
the largest distance present when that is smaller). Two sets are compared over the very
same pairs (:func:`ld_comparison`): the largest gap between their curves and the Pearson
correlation of their r² values over all pairs within the largest bin, accumulated block by
block (no pair is stored, none subsampled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthomics.container import MISSING

DEFAULT_MAX_DISTANCE = 1_000_000
"""Largest distance (bp) of the default LD decay bins."""


def standardise(G: np.ndarray, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Standardised dosage columns and which of them are polymorphic.

    Parameters
    ----------
    G
        Individuals x variants dosages, ``-1`` for missing calls.
    dtype
        Float type of the result.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``Z`` (missing calls and monomorphic columns are 0) with ``Z^T Z / n`` the
        correlation matrix, and the boolean mask of polymorphic variants.
    """
    G = np.asarray(G)
    called = G != MISSING
    values = np.where(called, G, 0).astype(np.float64)
    n_called = called.sum(axis=0)
    mean = np.divide(values.sum(axis=0), n_called, out=np.zeros(G.shape[1]), where=n_called > 0)
    centred = np.where(called, values - mean, 0.0)
    sd = np.sqrt((centred**2).sum(axis=0) / max(G.shape[0], 1))
    polymorphic = sd > 1e-12
    Z = np.divide(centred, sd, out=np.zeros_like(centred), where=polymorphic)
    return Z.astype(dtype, copy=False), polymorphic


def r_squared(G: np.ndarray) -> np.ndarray:
    """Full variants x variants r² matrix (NaN for monomorphic variants); small data only.

    Examples
    --------
    >>> G = np.array([[0, 0, 2], [1, 1, 1], [2, 2, 0], [1, 2, 1]])
    >>> np.round(r_squared(G), 3)
    array([[1.   , 0.818, 1.   ],
           [0.818, 1.   , 0.818],
           [1.   , 0.818, 1.   ]])
    """
    Z, poly = standardise(G, np.float64)
    r = Z.T @ Z / len(Z)
    r2 = np.clip(r**2, 0.0, 1.0)
    r2[~poly, :] = np.nan
    r2[:, ~poly] = np.nan
    return r2


def default_bins(max_distance: float, n_bins: int = 16) -> np.ndarray:
    """Log-spaced bin edges from 0 (first edge) via 10 bp to ``max_distance`` bp.

    ``max_distance`` is capped at :data:`DEFAULT_MAX_DISTANCE`; edges are integers
    (distances are whole base pairs), the first bin holds distances 1-10 bp.
    """
    top = max(min(float(max_distance), DEFAULT_MAX_DISTANCE), 20.0)
    inner = np.unique(np.round(np.geomspace(10.0, top, n_bins)))
    return np.r_[0.0, inner]


def max_pair_distance(positions: np.ndarray, chroms: np.ndarray) -> float:
    """Largest distance between two variants on one chromosome (0 if none)."""
    frame = pd.DataFrame({"c": chroms, "p": positions})
    spans = frame.groupby("c", sort=False)["p"].agg(lambda p: p.max() - p.min())
    return float(spans.max()) if len(spans) else 0.0


@dataclass
class LDComparison:
    """LD decay curves of a reference and a candidate set over the same variant pairs.

    Attributes
    ----------
    edges
        Bin edges in bp; bin ``k`` holds distances in ``(edges[k], edges[k + 1]]``.
    reference, candidate
        Mean r² per bin (NaN where a bin holds no usable pair).
    pairs
        Usable pairs per bin (polymorphic in both sets).
    max_gap
        ``max_k |candidate_k - reference_k|`` over bins with pairs.
    r2_pearson
        Pearson r of the two sets' r² values over all usable pairs within the last edge.
    n_pairs
        Number of those pairs.
    """

    edges: np.ndarray
    reference: np.ndarray
    candidate: np.ndarray
    pairs: np.ndarray
    max_gap: float
    r2_pearson: float
    n_pairs: int

    @property
    def centres(self) -> np.ndarray:
        """Geometric bin centres (the first bin: its upper edge / 2)."""
        lo = np.maximum(self.edges[:-1], 1.0)
        return np.sqrt(lo * self.edges[1:])


def _sorted_variants(positions: np.ndarray, chroms: np.ndarray) -> np.ndarray:
    """Order of variants by chromosome (in order of appearance) then position."""
    codes, _ = pd.factorize(pd.Series(chroms).astype(str), sort=False)
    return np.lexsort((np.asarray(positions, dtype=np.int64), codes))


def ld_comparison(
    reference: np.ndarray,
    candidate: np.ndarray,
    positions: np.ndarray,
    chroms: np.ndarray,
    edges: np.ndarray | None = None,
    block_variants: int = 1024,
) -> LDComparison:
    """Compare the LD decay of two dosage matrices over the same variants.

    Parameters
    ----------
    reference, candidate
        Individuals x variants dosages (``-1`` missing), same variants in the same order;
        the numbers of individuals may differ (r² is biased upwards by about ``1/n``, so
        compare sets of equal size).
    positions, chroms
        Position (bp) and chromosome of each variant.
    edges
        Bin edges (default :func:`default_bins` of the largest distance present).
    block_variants
        Variants per block of the matrix products.

    Returns
    -------
    LDComparison
    """
    positions = np.asarray(positions, dtype=np.int64)
    chroms = np.asarray(chroms).astype(str)
    order = _sorted_variants(positions, chroms)
    pos, chrom = positions[order], chroms[order]
    if edges is None:
        edges = default_bins(max_pair_distance(pos, chrom))
    edges = np.asarray(edges, dtype=np.float64)
    n_bins = len(edges) - 1
    Za, poly_a = standardise(np.asarray(reference)[:, order])
    Zb, poly_b = standardise(np.asarray(candidate)[:, order])
    na, nb = len(Za), len(Zb)
    usable = poly_a & poly_b
    sums_a, sums_b = np.zeros(n_bins), np.zeros(n_bins)
    counts = np.zeros(n_bins, dtype=np.int64)
    moments = np.zeros(5)  # sum x, sum y, sum x², sum y², sum xy
    n_pairs = 0
    chrom_codes, _ = pd.factorize(chrom, sort=False)
    # a variant's partners: later variants on its chromosome within the last edge
    key = chrom_codes.astype(np.float64) * 1e12 + pos  # positions < 1e12 bp
    stop_of = np.searchsorted(key, key + edges[-1], side="right")
    m = len(pos)
    for start in range(0, m, block_variants):
        end = min(start + block_variants, m)
        hi = int(stop_of[end - 1])
        if hi <= start + 1:
            continue
        ra = (Za[:, start:end].T @ Za[:, start:hi]) / na
        rb = (Zb[:, start:end].T @ Zb[:, start:hi]) / nb
        i_idx = np.arange(start, end)[:, None]
        j_idx = np.arange(start, hi)[None, :]
        distance = pos[j_idx] - pos[i_idx]
        keep = (
            (j_idx > i_idx)
            & (j_idx < stop_of[i_idx])
            & usable[i_idx]
            & usable[j_idx]
            & (distance > edges[0])
        )
        d = distance[keep]
        xa = np.clip(ra[keep].astype(np.float64) ** 2, 0.0, 1.0)
        xb = np.clip(rb[keep].astype(np.float64) ** 2, 0.0, 1.0)
        b = np.searchsorted(edges, d, side="left") - 1
        inside = (b >= 0) & (b < n_bins)
        b, xa, xb = b[inside], xa[inside], xb[inside]
        sums_a += np.bincount(b, weights=xa, minlength=n_bins)
        sums_b += np.bincount(b, weights=xb, minlength=n_bins)
        counts += np.bincount(b, minlength=n_bins)
        moments += (xa.sum(), xb.sum(), (xa * xa).sum(), (xb * xb).sum(), (xa * xb).sum())
        n_pairs += len(xa)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve_a = np.where(counts > 0, sums_a / counts, np.nan)
        curve_b = np.where(counts > 0, sums_b / counts, np.nan)
    filled = counts > 0
    max_gap = float(np.max(np.abs(curve_b - curve_a)[filled])) if filled.any() else float("nan")
    return LDComparison(
        edges=edges,
        reference=curve_a,
        candidate=curve_b,
        pairs=counts,
        max_gap=max_gap,
        r2_pearson=_pearson_from_moments(moments, n_pairs),
        n_pairs=n_pairs,
    )


def _pearson_from_moments(moments: np.ndarray, n: int) -> float:
    if n < 2:
        return float("nan")
    sx, sy, sxx, syy, sxy = moments
    cov = sxy - sx * sy / n
    vx, vy = sxx - sx * sx / n, syy - sy * sy / n
    if vx <= 0 or vy <= 0:
        return float("nan")
    return float(cov / np.sqrt(vx * vy))
