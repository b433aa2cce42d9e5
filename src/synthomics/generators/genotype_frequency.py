"""Independent per-variant genotype frequencies: the no-linkage baseline for genotypes.

Every synthetic call is drawn on its own from the observed frequencies of its variant in
the synthetic individual's condition level: the 0/1/2 genotype frequencies (dosage layout),
the allele frequency (haplotype layout), or, with ``hardy_weinberg=True``, Binomial(2, p)
from the allele frequency p. Allele frequencies per level, and so population
differentiation (F_ST), are kept in expectation; linkage disequilibrium, relatedness and
every other dependence between variants or individuals are not, which is what the LD and
kinship metrics of the evaluation should detect.

Frequencies are counted over the called genotypes only (missing calls are ignored) with a
pseudocount added to each class (Jeffreys' 1/2 by default), so a genotype unseen in a
level's training rows can still appear; ``pseudocount=0`` gives the plain empirical
frequencies. The model stores the counts only (no individual's genotypes).

Not from a paper: the standard "independent marginals" null model, as the per-SNP
frequency baselines of Yelmen et al. (2021, PLoS Genetics 17:e1009303) and of the
``synthcity`` marginal benchmarks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from synthomics.container import MISSING
from synthomics.errors import InputError
from synthomics.generators.genotype import GenotypeGenerator, GenotypePlan, GenotypeTrainingData

__all__ = [
    "AlleleFrequencyGenerator",
    "call_counts",
    "class_frequencies",
    "draw_calls",
    "fill_missing",
]


def call_counts(genotypes: np.ndarray, max_value: int) -> np.ndarray:
    """Number of calls of each value per variant, missing calls ignored.

    Parameters
    ----------
    genotypes
        ``n x m`` int8 with values ``0..max_value`` and :data:`MISSING`.
    max_value
        2 for dosages, 1 for haplotypes.

    Returns
    -------
    numpy.ndarray
        ``m x (max_value + 1)`` float64 counts.
    """
    return np.stack(
        [(genotypes == value).sum(axis=0) for value in range(max_value + 1)], axis=1
    ).astype(np.float64)


def class_frequencies(counts: np.ndarray, pseudocount: float) -> np.ndarray:
    """Frequencies of each class per variant from :func:`call_counts` plus a pseudocount.

    A variant with no calls (and no pseudocount) gets uniform frequencies.
    """
    smoothed = counts + pseudocount
    totals = smoothed.sum(axis=1, keepdims=True)
    uniform = np.full_like(smoothed, 1.0 / smoothed.shape[1])
    return np.divide(smoothed, totals, out=uniform, where=totals > 0)


def hardy_weinberg_frequencies(counts: np.ndarray, pseudocount: float) -> np.ndarray:
    """Genotype frequencies (1-p)^2, 2p(1-p), p^2 from the allele counts in ``counts``.

    ``counts`` are dosage counts (``m x 3``); the pseudocount is added to each allele.
    """
    alt = counts[:, 1] + 2 * counts[:, 2] + pseudocount
    total = 2 * counts.sum(axis=1) + 2 * pseudocount
    p = np.divide(alt, total, out=np.full_like(alt, 0.5), where=total > 0)
    return np.stack([(1 - p) ** 2, 2 * p * (1 - p), p**2], axis=1)


def draw_calls(frequencies: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent rows of calls, variant ``j`` drawn from ``frequencies[j]``.

    Inverse-CDF sampling: one uniform per call, compared with the cumulative frequencies.
    """
    cumulative = np.cumsum(frequencies, axis=1)[:, :-1]  # m x (k - 1)
    u = rng.random((n, frequencies.shape[0]))
    out = np.zeros((n, frequencies.shape[0]), dtype=np.int8)
    for k in range(cumulative.shape[1]):
        out += u >= cumulative[None, :, k]
    return out


class AlleleFrequencyGenerator(GenotypeGenerator):
    """Independent calls from per-variant genotype (or allele) frequencies per level.

    Parameters
    ----------
    hardy_weinberg
        Draw dosages as Binomial(2, p) from the level's allele frequency p instead of from
        the observed 0/1/2 frequencies (no effect on haplotype layouts, which are
        Bernoulli(p) either way).
    pseudocount
        Added to the count of every genotype class (or allele) of every variant and level
        before the frequencies are taken; 0.5 (Jeffreys) by default, 0 for the plain
        empirical frequencies.
    seed, progress
        See :class:`~synthomics.generators.base.Generator`.

    Attributes
    ----------
    counts_
        ``levels x variants x classes`` call counts (classes 0/1/2, or 0/1).
    """

    name: ClassVar[str] = "allele_frequency"
    description: ClassVar[str] = (
        "Independent calls from per-variant genotype frequencies per level (no LD)"
    )
    reference: ClassVar[str] = "independent-marginals null model (no linkage disequilibrium)"
    min_samples_per_level: ClassVar[int] = 1
    fast_config: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        hardy_weinberg: bool = False,
        pseudocount: float = 0.5,
        seed: int = 0,
        progress: bool | None = None,
    ) -> None:
        super().__init__(seed=seed, progress=progress)
        if not np.isfinite(pseudocount) or pseudocount < 0:
            raise InputError(None, f"pseudocount {pseudocount!r}", expected="a number >= 0")
        self.hardy_weinberg = bool(hardy_weinberg)
        self.pseudocount = float(pseudocount)
        self.counts_ = np.zeros((0, 0, 3))

    def _fit(self, data: GenotypeTrainingData, rng: np.random.Generator) -> None:
        self.counts_ = np.stack(
            [call_counts(data.group(c).genotypes, data.max_value) for c in range(self.n_groups)]
        )

    def frequencies(self, code: int) -> np.ndarray:
        """``variants x classes`` frequencies the calls of level ``code`` are drawn from."""
        counts = self.counts_[code]
        if self.hardy_weinberg and counts.shape[1] == 3:
            return hardy_weinberg_frequencies(counts, self.pseudocount)
        return class_frequencies(counts, self.pseudocount)

    def _sample(self, plan: GenotypePlan, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((plan.n, self.counts_.shape[1]), dtype=np.int8)
        for code in np.unique(plan.codes):
            rows = np.flatnonzero(plan.codes == code)
            out[rows] = draw_calls(self.frequencies(int(code)), len(rows), rng)
        return out

    def _get_state(self) -> dict[str, Any]:
        return {"counts": self.counts_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.counts_ = np.asarray(state["counts"], dtype=np.float64)


def fill_missing(
    genotypes: np.ndarray, frequencies: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``genotypes`` with every :data:`MISSING` call drawn from its variant's frequencies."""
    missing = genotypes == MISSING
    if not missing.any():
        return genotypes
    out = genotypes.copy()
    rows, cols = np.nonzero(missing)
    cumulative = np.cumsum(frequencies[cols], axis=1)[:, :-1]
    u = rng.random(len(cols))
    out[rows, cols] = (u[:, None] >= cumulative).sum(axis=1)
    return out
