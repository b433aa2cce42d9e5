"""Sparsity: how many zeros, and how many taxa each sample carries.

Pure functions of samples x taxa arrays (any units; only zero / non-zero matters).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import wasserstein_distance

from synthomics.metrics.profiles import check_same_width


def zero_fraction(X: np.ndarray) -> float:
    """Fraction of zero entries of a samples x taxa table."""
    X = np.asarray(X)
    return float((X == 0).mean()) if X.size else float("nan")


def zero_fraction_gap(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``|zero_fraction(synthetic) - zero_fraction(real)|`` in percentage points.

    Examples
    --------
    >>> zero_fraction_gap(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]]))
    25.0
    """
    check_same_width(np.asarray(real), np.asarray(synthetic), "taxa")
    return 100.0 * abs(zero_fraction(synthetic) - zero_fraction(real))


def richness(X: np.ndarray) -> np.ndarray:
    """Observed richness: number of taxa present (non-zero) in each sample."""
    return (np.asarray(X) > 0).sum(axis=1).astype(np.float64)


def richness_wasserstein(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Wasserstein-1 distance between the per-sample richness distributions (in taxa).

    Computed by :func:`scipy.stats.wasserstein_distance`.
    """
    check_same_width(np.asarray(real), np.asarray(synthetic), "taxa")
    return float(wasserstein_distance(richness(real), richness(synthetic)))
