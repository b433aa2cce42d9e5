"""Continuous representations of genotypes for Gaussian diffusion, and their inverses.

A representation maps an ``n x m`` genotype matrix (0/1/2 dosages or 0/1 haplotype
alleles, -1 for missing) to an ``n x d`` float matrix the diffusion model works on, and maps
the model's output back to a continuous ``n x m`` *genotype score* per variant, which
:class:`~synthomics.genotype_diffusion.thresholds.GenotypeThresholds` turns into integer
genotypes. Both are fitted on the training genotypes and stored as arrays (safetensors).

:class:`CentredDosage`
    Data space: each variant centred on its mean dosage and divided by one pooled standard
    deviation (so the whole matrix has unit variance, as the unit-variance Gaussian noise of
    the process expects). ``d = m``. Missing calls take the variant mean (0 after centring).
:class:`WindowedPCA`
    A latent of consecutive windows of variants: PCA per window keeping the components
    that explain ``variance`` of the window's variance (at most ``max_components``), the
    scores whitened to unit variance and concatenated. ``d`` = total components kept
    (about a third to a half of ``m`` at 90 %). Decoding reconstructs each window from its
    scores. Nothing is ever ``m x m``: the largest matrix is ``window x window``.

Neither stores a training individual: the arrays kept are per-variant means, scales and
per-window PCA loadings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

__all__ = ["REPRESENTATIONS", "CentredDosage", "WindowedPCA", "representation_from_state"]

MISSING = -1


def _centred(genotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(genotypes - mean, mean)`` per variant over observed calls; missing calls -> 0."""
    g = np.asarray(genotypes)
    observed = g != MISSING
    counts = observed.sum(axis=0)
    mean = np.where(observed, g, 0).sum(axis=0) / np.maximum(counts, 1)
    centred = np.where(observed, g - mean, 0.0)
    return centred.astype(np.float64), mean.astype(np.float64)


@dataclass
class CentredDosage:
    """Data-space representation: ``(g - mean_j) / pooled_sd``.

    Attributes
    ----------
    mean
        ``(m,)`` mean genotype value of each variant (observed calls).
    scale
        The pooled standard deviation (a scalar array).
    """

    mean: np.ndarray
    scale: np.ndarray
    kind: str = field(default="dosage", init=False)

    @property
    def residual_sd(self) -> np.ndarray:
        """No reconstruction error: zeros."""
        return np.zeros(len(self.mean))

    @classmethod
    def fit(cls, genotypes: np.ndarray) -> CentredDosage:
        centred, mean = _centred(genotypes)
        scale = float(np.sqrt((centred**2).mean())) or 1.0
        return cls(mean, np.asarray(scale))

    @property
    def n_variants(self) -> int:
        return len(self.mean)

    @property
    def n_latent(self) -> int:
        return len(self.mean)

    def encode(self, genotypes: np.ndarray) -> np.ndarray:
        g = np.asarray(genotypes)
        centred = np.where(g != MISSING, g - self.mean, 0.0)
        return (centred / float(self.scale)).astype(np.float32)

    def decode(self, latent: np.ndarray) -> np.ndarray:
        """Continuous genotype scores ``(n, m)`` (monotone in the genotype per variant)."""
        return np.asarray(latent, dtype=np.float64) * float(self.scale) + self.mean

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": np.asarray(self.scale, dtype=np.float64)}


@dataclass
class WindowedPCA:
    """Windowed-PCA latent: whitened PCA scores of consecutive windows of variants.

    Attributes
    ----------
    mean
        ``(m,)`` per-variant mean.
    starts
        ``(w + 1,)`` first variant of each window, and ``m``.
    offsets
        ``(w + 1,)`` first latent column of each window, and ``d``.
    loadings
        ``(d, ...)`` stored flat: the rows of ``components_k * sd_k`` of every window,
        concatenated (window ``i`` uses rows ``offsets[i]:offsets[i+1]`` and columns
        ``0:starts[i+1]-starts[i]``), padded to the widest window.
    sd
        ``(d,)`` standard deviation of each score (whitening).
    residual_sd
        ``(m,)`` root mean square of each variant's reconstruction error on the training
        genotypes (the variance the dropped components carried).
    """

    mean: np.ndarray
    starts: np.ndarray
    offsets: np.ndarray
    loadings: np.ndarray
    sd: np.ndarray
    residual_sd: np.ndarray
    kind: str = field(default="windowed_pca", init=False)

    @classmethod
    def fit(
        cls,
        genotypes: np.ndarray,
        *,
        window: int = 200,
        variance: float = 0.9,
        max_components: int | None = None,
    ) -> WindowedPCA:
        """PCA of each window of ``window`` consecutive variants (SVD of the centred block).

        Keeps, per window, the fewest components explaining ``variance`` of its variance
        (at most ``max_components`` and at most ``n - 1``).
        """
        centred, mean = _centred(genotypes)
        n, m = centred.shape
        starts = list(range(0, m, window))
        if len(starts) > 1 and m - starts[-1] < window // 2:
            starts.pop()  # fold a short last window into the previous one
        starts.append(m)
        widest = max(b - a for a, b in pairwise(starts))
        rows, sds, offsets = [], [], [0]
        for a, b in pairwise(starts):
            block = centred[:, a:b]
            _, s, vt = np.linalg.svd(block, full_matrices=False)
            var = s**2
            total = var.sum()
            explained = np.cumsum(var) / total if total > 0 else np.ones_like(var)
            k = int(np.searchsorted(explained, variance) + 1)
            k = max(1, min(k, len(s), max_components or len(s), max(n - 1, 1)))
            sd = np.maximum(s[:k] / np.sqrt(max(n - 1, 1)), 1e-8)
            padded = np.zeros((k, widest))
            padded[:, : b - a] = vt[:k] * sd[:, None]
            rows.append(padded)
            sds.append(sd)
            offsets.append(offsets[-1] + k)
        fitted = cls(
            mean,
            np.asarray(starts, dtype=np.int64),
            np.asarray(offsets, dtype=np.int64),
            np.concatenate(rows),
            np.concatenate(sds),
            np.zeros(m),
        )
        residual = centred + mean - fitted.decode(fitted.encode(genotypes))
        residual[np.asarray(genotypes) == MISSING] = 0.0
        fitted.residual_sd = np.sqrt((residual**2).mean(axis=0))
        return fitted

    @property
    def n_variants(self) -> int:
        return len(self.mean)

    @property
    def n_latent(self) -> int:
        return int(self.offsets[-1])

    def _windows(self):
        for i in range(len(self.starts) - 1):
            a, b = int(self.starts[i]), int(self.starts[i + 1])
            o, p = int(self.offsets[i]), int(self.offsets[i + 1])
            yield slice(a, b), slice(o, p), self.loadings[o:p, : b - a]

    def encode(self, genotypes: np.ndarray) -> np.ndarray:
        g = np.asarray(genotypes)
        centred = np.where(g != MISSING, g - self.mean, 0.0)
        out = np.zeros((len(g), self.n_latent))
        sd2 = self.sd**2
        for variants, latent, loading in self._windows():
            # loading = sd * V^T, so scores / sd = X V / sd = X loading^T / sd^2
            out[:, latent] = centred[:, variants] @ loading.T / sd2[latent]
        return out.astype(np.float32)

    def decode(self, latent: np.ndarray) -> np.ndarray:
        z = np.asarray(latent, dtype=np.float64)
        out = np.empty((len(z), self.n_variants))
        for variants, columns, loading in self._windows():
            out[:, variants] = z[:, columns] @ loading
        return out + self.mean

    def state(self) -> dict[str, np.ndarray]:
        return {
            "mean": self.mean,
            "starts": self.starts,
            "offsets": self.offsets,
            "loadings": self.loadings,
            "sd": self.sd,
            "residual_sd": self.residual_sd,
        }


REPRESENTATIONS: tuple[str, ...] = ("dosage", "windowed_pca")


def representation_from_state(kind: str, state: dict[str, np.ndarray]):
    """Rebuild a fitted representation from :meth:`state` arrays."""
    if kind == "dosage":
        return CentredDosage(np.asarray(state["mean"]), np.asarray(state["scale"]))
    if kind == "windowed_pca":
        fields = [k for k in WindowedPCA.__dataclass_fields__ if k != "kind"]
        return WindowedPCA(**{k: np.asarray(state[k]) for k in fields})
    raise ValueError(f"unknown representation {kind!r}; expected one of {REPRESENTATIONS}")
