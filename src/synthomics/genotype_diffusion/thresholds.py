"""Per-variant decoding thresholds calibrated so that decoded genotype frequencies match.

The diffusion model outputs a continuous score per variant (higher = more ALT alleles).
:class:`GenotypeThresholds` turns scores into genotypes ``0..K`` (``K`` = 2 for dosages, 1
for haplotypes) with ``K`` increasing thresholds per variant and per condition level:
``g = #{k : score > t_k}``. The thresholds are the quantiles of the model's *own* scores
(a calibration draw at fit time) at the cumulative training genotype frequencies, so that
decoding that draw reproduces the training frequencies of 0, 1 and 2 of every variant in
every level (up to ties and the calibration sample size). Rounding the score instead
would carry every bias of the network's marginals into the allele frequencies.

Per-level frequencies are shrunk towards the pooled ones by ``prior`` pseudo-individuals,
so that a level with a handful of individuals (the 6 Oceanians of the HGDP subset) does
not get thresholds that reproduce its few training individuals call by call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GenotypeThresholds", "genotype_frequencies"]

MISSING = -1


def genotype_frequencies(genotypes: np.ndarray, max_value: int) -> np.ndarray:
    """``(K + 1, m)`` share of each genotype value among the observed calls of each variant.

    A variant with no observed call gets all its mass on 0.
    """
    g = np.asarray(genotypes)
    observed = (g != MISSING).sum(axis=0)
    counts = np.stack([(g == k).sum(axis=0) for k in range(max_value + 1)]).astype(np.float64)
    empty = observed == 0
    counts[0, empty] = 1.0
    return counts / np.maximum(counts.sum(axis=0), 1.0)


def _quantile_thresholds(scores: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """``(K, m)`` thresholds: column quantiles of ``scores`` at ``cumulative`` ``(K, m)``.

    Threshold ``k`` of variant ``j`` lies midway between the order statistics around rank
    ``round(cumulative[k, j] * n)``, so exactly that many scores fall at or below it (no
    ties); rank 0 gives -inf and rank n gives +inf.
    """
    n, m = scores.shape
    ordered = np.sort(scores, axis=0)
    padded = np.concatenate([np.full((1, m), -np.inf), ordered, np.full((1, m), np.inf)])
    rank = np.clip(np.rint(cumulative * n).astype(np.int64), 0, n)
    columns = np.arange(m)[None, :]
    below = padded[rank, columns]  # the rank-th smallest (row 0 is -inf)
    above = padded[rank + 1, columns]  # the (rank + 1)-th smallest (row n + 1 is +inf)
    with np.errstate(invalid="ignore"):
        middle = 0.5 * (below + above)
    middle = np.where(rank == 0, -np.inf, middle)
    return np.where(rank == n, np.inf, middle)


@dataclass
class GenotypeThresholds:
    """Increasing thresholds ``(levels, K, m)`` per condition level, variant and genotype step.

    Attributes
    ----------
    thresholds
        ``(L, K, m)`` float64; ``L`` = 1 for an unconditional model.
    """

    thresholds: np.ndarray

    @property
    def max_value(self) -> int:
        return int(self.thresholds.shape[1])

    @classmethod
    def calibrate(
        cls,
        scores: list[np.ndarray],
        frequencies: np.ndarray,
    ) -> GenotypeThresholds:
        """Thresholds from one calibration draw per level.

        Parameters
        ----------
        scores
            One ``(n_l, m)`` array of continuous scores per level.
        frequencies
            ``(L, K + 1, m)`` target genotype frequencies per level.
        """
        out = []
        for level, s in enumerate(scores):
            cumulative = np.cumsum(frequencies[level], axis=0)[:-1]
            out.append(_quantile_thresholds(np.asarray(s, dtype=np.float64), cumulative))
        return cls(np.stack(out))

    def decode(self, scores: np.ndarray, codes: np.ndarray, start: int = 0) -> np.ndarray:
        """Integer genotypes ``(n, b)`` (int8) of ``scores`` ``(n, b)`` of variants
        ``start:start + b`` for rows of level ``codes``."""
        scores = np.asarray(scores, dtype=np.float64)
        t = self.thresholds[:, :, start : start + scores.shape[1]]
        t = t[np.asarray(codes, dtype=np.int64)]  # (n, K, b)
        return (scores[:, None, :] > t).sum(axis=1).astype(np.int8)

    @staticmethod
    def level_frequencies(
        genotypes: np.ndarray, codes: np.ndarray, n_levels: int, max_value: int, prior: float
    ) -> np.ndarray:
        """``(L, K + 1, m)`` per-level frequencies shrunk to the pooled ones by ``prior``."""
        pooled = genotype_frequencies(genotypes, max_value)
        out = []
        for level in range(n_levels):
            rows = np.asarray(genotypes)[np.asarray(codes) == level]
            n_obs = (rows != MISSING).sum(axis=0)
            own = genotype_frequencies(rows, max_value) if len(rows) else pooled
            weight = n_obs / (n_obs + prior) if prior > 0 else np.ones_like(n_obs, float)
            out.append(weight * own + (1 - weight) * pooled)
        return np.stack(out)

    def state(self) -> dict[str, np.ndarray]:
        return {"thresholds": self.thresholds}
