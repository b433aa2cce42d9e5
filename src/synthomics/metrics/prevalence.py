"""Prevalence and mean abundance of each taxon, compared between two sets.

Pure functions of samples x taxa arrays; abundance metrics expect total-sum-scaled rows.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr

from synthomics.errors import InputError
from synthomics.metrics.profiles import check_same_width


def prevalence(X: np.ndarray) -> np.ndarray:
    """Per-taxon fraction of samples in which the taxon is present."""
    X = np.asarray(X)
    return (X > 0).mean(axis=0)


def _pearson(a: np.ndarray, b: np.ndarray, what: str) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        raise InputError(
            None,
            f"{what} is constant across taxa in one set",
            expected="varying values, so that a correlation is defined",
        )
    return float(pearsonr(a, b).statistic)


def prevalence_pearson(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Pearson correlation of per-taxon prevalence, real vs synthetic (via SciPy)."""
    check_same_width(np.asarray(real), np.asarray(synthetic), "taxa")
    return _pearson(prevalence(real), prevalence(synthetic), "prevalence")


def log_mean_abundance(P: np.ndarray, pseudocount: float) -> np.ndarray:
    """``log10(mean relative abundance + pseudocount)`` of each taxon."""
    return np.log10(np.asarray(P, dtype=np.float64).mean(axis=0) + pseudocount)


def abundance_pseudocount(*tables: np.ndarray) -> float:
    """Half the smallest non-zero per-taxon mean over ``tables`` (1e-12 if all are zero).

    Taxa absent from one set get a finite log mean one step below the rarest observed
    taxon, rather than minus infinity.
    """
    means = np.concatenate([np.asarray(t, dtype=np.float64).mean(axis=0) for t in tables])
    positive = means[means > 0]
    return float(positive.min() / 2) if positive.size else 1e-12


def log_mean_abundance_pearson(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Pearson r of per-taxon log10 mean relative abundance, real vs synthetic.

    Both sets share the pseudocount of :func:`abundance_pseudocount`.
    """
    check_same_width(np.asarray(real), np.asarray(synthetic), "taxa")
    eps = abundance_pseudocount(real, synthetic)
    return _pearson(
        log_mean_abundance(real, eps), log_mean_abundance(synthetic, eps), "mean abundance"
    )
