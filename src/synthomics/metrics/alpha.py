"""Alpha diversity of each sample and the distance between two sets' distributions.

Shannon uses the natural logarithm (nats), scikit-bio's default base; Simpson is the
Gini-Simpson index ``1 - sum p²`` (scikit-bio's ``simpson``); Faith's PD sums the lengths
of the branches between the root and the taxa present, the root's own branch included
when the tree gives it a length (as scikit-bio's ``faith_pd``). All take a samples x taxa
table of proportions (rows summing to one); all-zero rows give 0.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp, wasserstein_distance

from synthomics.metrics.unifrac import TreeIncidence


def shannon(P: np.ndarray) -> np.ndarray:
    """Shannon index ``-sum p ln p`` of each row of proportions, in nats."""
    P = np.asarray(P, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0)
    return -terms.sum(axis=1)


def simpson(P: np.ndarray) -> np.ndarray:
    """Gini-Simpson index ``1 - sum p²`` of each row of proportions (0 for empty rows)."""
    P = np.asarray(P, dtype=np.float64)
    out = 1.0 - (P**2).sum(axis=1)
    out[P.sum(axis=1) == 0] = 0.0
    return out


def observed_richness(P: np.ndarray) -> np.ndarray:
    """Number of taxa present in each row."""
    return (np.asarray(P) > 0).sum(axis=1).astype(np.float64)


def faith_pd(P: np.ndarray, tree: TreeIncidence) -> np.ndarray:
    """Faith's phylogenetic diversity of each row, from a branch x taxon incidence.

    A branch counts when any taxon below it is present:
    ``PD = sum_b l_b [sum_t I_bt x_t > 0]``, one sparse product for all samples.
    """
    present = (np.asarray(P) > 0).astype(np.float64)
    covered = tree.branch_abundance(present) > 0
    return covered.astype(np.float64) @ tree.lengths


def distribution_distances(real: np.ndarray, synthetic: np.ndarray) -> tuple[float, float]:
    """Wasserstein-1 distance and two-sample Kolmogorov-Smirnov statistic (SciPy)."""
    real = np.asarray(real, dtype=np.float64)
    synthetic = np.asarray(synthetic, dtype=np.float64)
    return (
        float(wasserstein_distance(real, synthetic)),
        float(ks_2samp(real, synthetic).statistic),
    )
