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
    (about a third to a half of ``m`` at 90 %). Windows may overlap their neighbours so
    that LD across a border sits inside one window. Decoding reconstructs each window from
    its scores. Nothing is ever ``m x m``: the largest matrix is ``n x window``.

Neither stores a training individual: the arrays kept are per-variant means, scales and
per-window PCA loadings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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

    def decode(self, latent: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Continuous genotype scores ``(n, stop - start)`` of variants ``start:stop``
        (monotone in the genotype per variant)."""
        stop = self.n_variants if stop is None else stop
        part = np.asarray(latent)[:, start:stop].astype(np.float64)
        return part * float(self.scale) + self.mean[start:stop]

    def variant_blocks(self, size: int = 4096) -> list[tuple[int, int]]:
        """``(start, stop)`` of consecutive blocks of about ``size`` variants."""
        return variant_blocks(self.n_variants, size)

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": np.asarray(self.scale, dtype=np.float64)}


@dataclass
class WindowedPCA:
    """Windowed-PCA latent: whitened PCA scores of consecutive, overlapping windows.

    Window ``i`` covers variants ``starts[i]:ends[i]``; with ``overlap`` > 0 it reaches
    ``overlap`` variants into the next window, so that the pairs of variants on either side
    of a border are inside one window and their LD is in its loadings. Decoding blends
    the two reconstructions of an overlapped variant with linear cross-fade weights (they
    sum to one). Time and memory grow linearly with the number of variants: every step
    works window by window (or on blocks of variants), never on an ``m x m`` matrix and
    never on a float copy of the whole genotype matrix.

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
        ``0:ends[i]-starts[i]``), padded to the widest window.
    sd
        ``(d,)`` standard deviation of each score (whitening).
    residual_sd
        ``(m,)`` root mean square of each variant's reconstruction error on the training
        genotypes (the variance the dropped components carried).
    ends
        ``(w,)`` end (exclusive) of each window: ``starts[i+1] + overlap`` up to ``m``.
    """

    mean: np.ndarray
    starts: np.ndarray
    offsets: np.ndarray
    loadings: np.ndarray
    sd: np.ndarray
    residual_sd: np.ndarray
    ends: np.ndarray
    kind: str = field(default="windowed_pca", init=False)

    @classmethod
    def fit(
        cls,
        genotypes: np.ndarray,
        *,
        window: int = 200,
        variance: float = 0.9,
        max_components: int | None = None,
        overlap: int = 0,
        progress: Callable[[], None] | None = None,
    ) -> WindowedPCA:
        """PCA of each window of ``window`` variants (SVD of the centred block).

        Consecutive windows start ``window`` variants apart and each reaches ``overlap``
        variants further (``overlap < window // 2``). Keeps, per window, the fewest
        components explaining ``variance`` of its variance (at most ``max_components``
        and at most ``n - 1``). ``progress`` is called once per window fitted.
        """
        g = np.asarray(genotypes)
        n, m = g.shape
        if not 0 <= overlap < max(window // 2, 1):
            raise ValueError(f"overlap {overlap} must be in [0, window // 2)")
        mean = _column_means(g)
        starts = list(range(0, m, window))
        if len(starts) > 1 and m - starts[-1] < window // 2:
            starts.pop()  # fold a short last window into the previous one
        starts.append(m)
        ends = [min(b + overlap, m) for b in starts[1:]]
        widest = max(e - a for a, e in zip(starts, ends, strict=False))
        rows, sds, offsets = [], [], [0]
        for a, e in zip(starts, ends, strict=False):
            block = _centred_block(g, mean, a, e)
            _, s, vt = np.linalg.svd(block, full_matrices=False)
            var = s**2
            total = var.sum()
            explained = np.cumsum(var) / total if total > 0 else np.ones_like(var)
            k = int(np.searchsorted(explained, variance) + 1)
            k = max(1, min(k, len(s), max_components or len(s), max(n - 1, 1)))
            sd = np.maximum(s[:k] / np.sqrt(max(n - 1, 1)), 1e-8)
            padded = np.zeros((k, widest))
            padded[:, : e - a] = vt[:k] * sd[:, None]
            rows.append(padded)
            sds.append(sd)
            offsets.append(offsets[-1] + k)
            if progress is not None:
                progress()
        fitted = cls(
            mean,
            np.asarray(starts, dtype=np.int64),
            np.asarray(offsets, dtype=np.int64),
            np.concatenate(rows),
            np.concatenate(sds),
            np.zeros(m),
            np.asarray(ends, dtype=np.int64),
        )
        latent = fitted.encode(g)
        residual_sd = np.empty(m)
        for a, b in fitted.variant_blocks():
            residual = _centred_block(g, mean, a, b) + mean[a:b] - fitted.decode(latent, a, b)
            residual[g[:, a:b] == MISSING] = 0.0
            residual_sd[a:b] = np.sqrt((residual**2).mean(axis=0))
        fitted.residual_sd = residual_sd
        return fitted

    @property
    def n_variants(self) -> int:
        return len(self.mean)

    @property
    def n_latent(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_windows(self) -> int:
        return len(self.starts) - 1

    def _weights(self, i: int) -> np.ndarray:
        """Cross-fade weights of window ``i`` over its variants (one outside overlaps)."""
        a, e = int(self.starts[i]), int(self.ends[i])
        w = np.ones(e - a)
        head = int(self.ends[i - 1]) - a if i > 0 else 0  # shared with the previous window
        tail = e - int(self.starts[i + 1])  # shared with the next window
        if head > 0:
            w[:head] = np.arange(1, head + 1) / (head + 1)
        if tail > 0:
            w[e - a - tail :] = 1 - np.arange(1, tail + 1) / (tail + 1)
        return w

    def _windows(self, lo: int = 0, hi: int | None = None):
        """``(first variant, end, latent columns, loadings, weights)`` of the windows
        that cover any variant in ``lo:hi``."""
        hi = self.n_variants if hi is None else hi
        for i in range(self.n_windows):
            a, e = int(self.starts[i]), int(self.ends[i])
            if e <= lo or a >= hi:
                continue
            o, p = int(self.offsets[i]), int(self.offsets[i + 1])
            yield a, e, slice(o, p), self.loadings[o:p, : e - a], self._weights(i)

    def variant_blocks(self, size: int = 4096) -> list[tuple[int, int]]:
        """``(start, stop)`` of consecutive blocks of about ``size`` variants."""
        return variant_blocks(self.n_variants, size)

    def encode(self, genotypes: np.ndarray) -> np.ndarray:
        g = np.asarray(genotypes)
        out = np.zeros((len(g), self.n_latent), dtype=np.float32)
        sd2 = self.sd**2
        for a, e, latent, loading, _ in self._windows():
            # loading = sd * V^T, so scores / sd = X V / sd = X loading^T / sd^2
            block = _centred_block(g, self.mean, a, e)
            out[:, latent] = block @ loading.T / sd2[latent]
        return out

    def decode(self, latent: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Continuous genotype scores ``(n, stop - start)`` of variants ``start:stop``."""
        z = np.asarray(latent)
        stop = self.n_variants if stop is None else stop
        out = np.zeros((len(z), stop - start))
        for a, e, columns, loading, weights in self._windows(start, stop):
            lo, hi = max(a, start), min(e, stop)
            part = z[:, columns].astype(np.float64) @ loading[:, lo - a : hi - a]
            out[:, lo - start : hi - start] += part * weights[lo - a : hi - a]
        return out + self.mean[start:stop]

    def state(self) -> dict[str, np.ndarray]:
        return {
            "mean": self.mean,
            "starts": self.starts,
            "offsets": self.offsets,
            "loadings": self.loadings,
            "sd": self.sd,
            "residual_sd": self.residual_sd,
            "ends": self.ends,
        }


def variant_blocks(m: int, size: int = 4096) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks of ``size`` of ``m`` variants (last shorter)."""
    return [(a, min(a + size, m)) for a in range(0, m, size)]


def _column_means(g: np.ndarray, block: int = 4096) -> np.ndarray:
    """Mean of each column over observed calls, computed on blocks of columns."""
    out = np.zeros(g.shape[1])
    for a in range(0, g.shape[1], block):
        part = g[:, a : a + block]
        observed = part != MISSING
        out[a : a + block] = np.where(observed, part, 0).sum(axis=0) / np.maximum(
            observed.sum(axis=0), 1
        )
    return out


def _centred_block(g: np.ndarray, mean: np.ndarray, a: int, b: int) -> np.ndarray:
    """``g[:, a:b] - mean[a:b]`` as float64, missing calls -> 0."""
    part = g[:, a:b]
    return np.where(part != MISSING, part - mean[a:b], 0.0)


REPRESENTATIONS: tuple[str, ...] = ("dosage", "windowed_pca")


def representation_from_state(kind: str, state: dict[str, np.ndarray]):
    """Rebuild a fitted representation from :meth:`state` arrays."""
    if kind == "dosage":
        return CentredDosage(np.asarray(state["mean"]), np.asarray(state["scale"]))
    if kind == "windowed_pca":
        fields = [k for k in WindowedPCA.__dataclass_fields__ if k not in ("kind", "ends")]
        arrays = {k: np.asarray(state[k]) for k in fields}
        # models saved before overlapping windows: each window ends where the next starts
        ends = state.get("ends")
        arrays["ends"] = np.asarray(arrays["starts"][1:] if ends is None else ends)
        return WindowedPCA(**arrays)
    raise ValueError(f"unknown representation {kind!r}; expected one of {REPRESENTATIONS}")
