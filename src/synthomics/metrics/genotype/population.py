"""Population-genetic summaries: allele frequencies, heterozygosity and a real-fitted PCA.

* :func:`alt_allele_frequencies`: ALT allele frequency per variant over called genotypes,
  as :meth:`allel.GenotypeArray.count_alleles` ``.to_frequencies()``.
* :func:`heterozygosity`: per individual, the share of its called genotypes that are
  heterozygous (dosage 1), as ``allel.GenotypeArray.count_het(axis=0) / count_called``.
* :class:`RealPCA`: principal components fitted on the real individuals after the scaling
  of Patterson, Price & Reich (2006) (centre each variant by its mean dosage ``2p`` and
  divide by ``sqrt(p (1 - p))``, as :func:`allel.pca` with ``scaler="patterson"``), then
  used to project synthetic individuals into the real axes. Written here rather than
  calling :func:`allel.pca` because it must drop monomorphic variants (allel divides by a
  zero scale) and mean-impute missing calls; tests check it against allel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import pearsonr, wasserstein_distance

from synthomics.container import MISSING


def alt_allele_frequencies(G: np.ndarray, ploidy: int = 2) -> np.ndarray:
    """ALT allele frequency per variant (NaN where no call), missing calls left out."""
    G = np.asarray(G)
    called = G != MISSING
    alt = np.where(called, G, 0).sum(axis=0, dtype=np.int64)
    alleles = called.sum(axis=0) * ploidy
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(alleles > 0, alt / np.maximum(alleles, 1), np.nan)


def allele_frequency_pearson(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Pearson r of per-variant ALT allele frequencies (variants called in both)."""
    p, q = alt_allele_frequencies(real), alt_allele_frequencies(synthetic)
    ok = np.isfinite(p) & np.isfinite(q)
    if ok.sum() < 2 or np.ptp(p[ok]) == 0 or np.ptp(q[ok]) == 0:
        return float("nan")
    return float(pearsonr(p[ok], q[ok]).statistic)


def heterozygosity(G: np.ndarray) -> np.ndarray:
    """Share of heterozygous calls (dosage 1) among each individual's called genotypes."""
    G = np.asarray(G)
    called = (G != MISSING).sum(axis=1)
    het = (G == 1).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(called > 0, het / np.maximum(called, 1), np.nan)


def heterozygosity_wasserstein(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Wasserstein-1 between the per-individual heterozygosity distributions."""
    a, b = heterozygosity(real), heterozygosity(synthetic)
    return float(wasserstein_distance(a[np.isfinite(a)], b[np.isfinite(b)]))


@dataclass
class RealPCA:
    """PCA fitted on real dosages with Patterson scaling; projects any set onto its axes.

    Attributes
    ----------
    mean
        Mean dosage per variant used (polymorphic variants of the real set).
    scale
        ``sqrt(p (1 - p))`` per variant, ``p = mean / ploidy``.
    columns
        Indices of the variants used (polymorphic in the real set).
    components
        Variants x components loadings (unit vectors).
    explained
        Share of the total scaled variance per component.
    """

    mean: np.ndarray
    scale: np.ndarray
    columns: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    @classmethod
    def fit(cls, real: np.ndarray, n_components: int = 2, ploidy: int = 2) -> RealPCA:
        """Fit on real dosages (individuals x variants, ``-1`` missing)."""
        G = np.asarray(real)
        called = G != MISSING
        values = np.where(called, G, 0).astype(np.float64)
        n_called = called.sum(axis=0)
        mean = np.divide(values.sum(0), n_called, out=np.zeros(G.shape[1]), where=n_called > 0)
        p = mean / ploidy
        scale = np.sqrt(p * (1.0 - p))
        columns = np.flatnonzero((scale > 1e-12) & (n_called > 0))
        pca = cls(mean[columns], scale[columns], columns, np.empty((len(columns), 0)), np.empty(0))
        X = pca._scaled(G)
        _, s, vt = np.linalg.svd(X, full_matrices=False)
        k = min(n_components, len(s))
        components = vt[:k].T
        # a fixed sign: the largest loading of each axis is positive
        signs = np.sign(components[np.abs(components).argmax(axis=0), np.arange(k)])
        pca.components = components * np.where(signs == 0, 1.0, signs)
        total = float((s**2).sum())
        pca.explained = (s[:k] ** 2) / total if total > 0 else np.zeros(k)
        return pca

    def _scaled(self, G: np.ndarray) -> np.ndarray:
        G = np.asarray(G)[:, self.columns]
        centred = np.where(G != MISSING, G - self.mean, 0.0)  # missing: mean-imputed
        return centred / self.scale

    def transform(self, G: np.ndarray) -> np.ndarray:
        """Coordinates (individuals x components) of dosages on the real axes."""
        return self._scaled(G) @ self.components


def pc_wasserstein(real_coords: np.ndarray, synthetic_coords: np.ndarray) -> list[float]:
    """Wasserstein-1 between real and synthetic coordinates, one value per component."""
    return [
        float(wasserstein_distance(real_coords[:, k], synthetic_coords[:, k]))
        for k in range(real_coords.shape[1])
    ]
