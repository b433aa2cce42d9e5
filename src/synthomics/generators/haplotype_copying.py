"""Li & Stephens (2003) haplotype copying: synthetic haplotypes as mosaics of training ones.

Each synthetic haplotype copies the alleles of one training haplotype of its condition
level (its *template*) and, between consecutive variants ``j-1`` and ``j``, jumps to a
template drawn uniformly from the ``K`` training haplotypes of the level with probability

    p_j = 1 - exp(-rho * d_j / K),    rho = 4 * Ne * r,

``d_j`` the distance in bp (``var["pos"]``), ``Ne`` the effective population size and ``r``
the recombination rate per bp per generation (defaults 10,000 and 1e-8, the values of
Li & Stephens' human examples). A jump may land on the current template, as in the
model. Across chromosomes (or where positions go backwards) ``p_j = 1``. For data without
real positions (e.g. placeholder positions), ``switch_rate_per_variant`` replaces
``rho * d_j`` by one value per adjacent pair. Each copied allele is miscopied with
Li & Stephens' probability ``theta / (2 (K + theta))``, ``theta = 1 / sum_{i=1}^{K-1} 1/i``
(or ``miscopy_rate``): a haplotype allele is flipped.

Phase
    With the haplotype layout (phased input, read with ``layout="haplotype"``) the copying
    units are haplotypes and the output is haplotype rows; the genotype layer pairs
    consecutive synthetic haplotypes of a level into diploid individuals (ask for an even
    number per level), and writers such as PLINK sum them into dosages. **Without phase**
    (dosage layout, which is also what a phased VCF gives when read as dosages) the copying
    units are the training *individuals*: each synthetic individual is a mosaic of the
    diploid genotype vectors of the level's individuals, with the same switch rule
    (``K`` = individuals), and a miscopied call is redrawn from the level's observed
    0/1/2 frequencies of that variant. Missing training calls copied into a synthetic row
    are drawn the same way.

It keeps linkage disequilibrium and local haplotype structure far better than independent
frequencies; it copies long stretches of real haplotypes, so it sits between the
frequency model and the bootstrap on the privacy axis. **It stores the training
genotypes: sharing the saved model shares the data.**

Vectorised with NumPy: the switch points of all rows are one Bernoulli matrix, the
templates of the segments one integer draw, and a cumulative sum over the switch matrix
maps every call to its segment (1,500 x 5,000 in well under a second).

References
----------
Li N, Stephens M (2003). Modeling linkage disequilibrium and identifying recombination
hotspots using single-nucleotide polymorphism data. Genetics 165:2213-2233.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthomics.container import MISSING
from synthomics.errors import InputError
from synthomics.generators.genotype import GenotypeGenerator, GenotypePlan, GenotypeTrainingData
from synthomics.generators.genotype_frequency import call_counts, class_frequencies, fill_missing

__all__ = [
    "HaplotypeCopyingGenerator",
    "copying_paths",
    "li_stephens_miscopy",
]

_ROW_CHUNK = 512


def li_stephens_miscopy(k: int) -> float:
    """Li & Stephens' miscopy probability ``theta / (2 (K + theta))`` for ``K`` templates.

    ``theta = 1 / sum_{i=1}^{K-1} 1/i`` (their equation A2); 0 for a single template.
    """
    if k < 2:
        return 0.0
    theta = 1.0 / np.sum(1.0 / np.arange(1, k))
    return float(theta / (2.0 * (k + theta)))


def copying_paths(
    n: int, switch_probabilities: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Template index of every call of ``n`` copying paths over ``m`` variants.

    Parameters
    ----------
    n
        Number of paths (synthetic rows).
    switch_probabilities
        ``m - 1`` probabilities of a jump between adjacent variants.
    k
        Number of templates; a jump draws one uniformly (possibly the current one).
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``n x m`` int64 template indices.
    """
    m = len(switch_probabilities) + 1
    jumps = np.empty((n, m), dtype=bool)
    jumps[:, 0] = True
    jumps[:, 1:] = rng.random((n, m - 1)) < switch_probabilities[None, :]
    segment = np.cumsum(jumps.ravel()) - 1  # every row starts a segment
    templates = rng.integers(0, k, size=int(segment[-1]) + 1 if n else 0)
    return templates[segment].reshape(n, m)


class HaplotypeCopyingGenerator(GenotypeGenerator):
    """Li & Stephens copying model: mosaics of the training haplotypes of each level.

    See the module documentation for the model, phase and privacy.

    Parameters
    ----------
    ne
        Effective population size Ne of ``rho = 4 Ne r``.
    recombination_rate
        ``r``, per bp per generation.
    switch_rate_per_variant
        If given, replaces ``rho * d`` for every adjacent pair of variants (for data whose
        positions are placeholders); the jump probability is then ``1 - exp(-rate / K)``.
    miscopy_rate
        Probability of miscopying a call; None (default) takes Li & Stephens'
        ``theta / (2 (K + theta))`` for the level's ``K``.
    seed, progress
        See :class:`~synthomics.generators.base.Generator`.

    Attributes
    ----------
    genotypes_, codes_
        The training rows (haplotypes or individuals) and their level codes.
    """

    name: ClassVar[str] = "haplotype_copying"
    description: ClassVar[str] = (
        "Li & Stephens haplotype copying: mosaics of training haplotypes (stores the data)"
    )
    reference: ClassVar[str] = "Li & Stephens (2003) Genetics 165:2213"
    min_samples_per_level: ClassVar[int] = 2
    fast_config: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        ne: float = 10_000.0,
        recombination_rate: float = 1e-8,
        switch_rate_per_variant: float | None = None,
        miscopy_rate: float | None = None,
        seed: int = 0,
        progress: bool | None = None,
    ) -> None:
        super().__init__(seed=seed, progress=progress)
        for what, value in (("ne", ne), ("recombination_rate", recombination_rate)):
            if not np.isfinite(value) or value < 0:
                raise InputError(None, f"{what} {value!r}", expected="a number >= 0")
        if switch_rate_per_variant is not None and not (
            np.isfinite(switch_rate_per_variant) and switch_rate_per_variant >= 0
        ):
            raise InputError(
                None,
                f"switch_rate_per_variant {switch_rate_per_variant!r}",
                expected="a number >= 0 or None",
            )
        if miscopy_rate is not None and not 0 <= miscopy_rate <= 1:
            raise InputError(
                None, f"miscopy_rate {miscopy_rate!r}", expected="a probability or None"
            )
        self.ne = float(ne)
        self.recombination_rate = float(recombination_rate)
        self.switch_rate_per_variant = (
            None if switch_rate_per_variant is None else float(switch_rate_per_variant)
        )
        self.miscopy_rate = None if miscopy_rate is None else float(miscopy_rate)
        self.genotypes_ = np.zeros((0, 0), dtype=np.int8)
        self.codes_ = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ the model

    def scaled_distances(self) -> np.ndarray:
        """``rho * d_j`` for each adjacent pair of training variants (inf across chromosomes).

        Raises
        ------
        InputError
            If positions are missing or not numbers and no ``switch_rate_per_variant`` is set.
        """
        m = len(self.feature_names_)
        if self.switch_rate_per_variant is not None:
            return np.full(max(m - 1, 0), self.switch_rate_per_variant)
        if "pos" in self.var_.columns:
            pos = pd.to_numeric(self.var_["pos"], errors="coerce")
        else:
            pos = pd.Series(np.nan, index=self.var_.index)
        if pos.isna().any():
            raise InputError(
                self.training_.get("source_file"),
                "variant positions (var['pos']) are missing or not numbers",
                expected="bp positions, or the switch_rate_per_variant option",
            )
        pos = np.asarray(pos, dtype=np.float64)
        chrom = self.var_["chrom"].astype(str).to_numpy()
        d = np.diff(pos)
        rho = 4.0 * self.ne * self.recombination_rate
        scaled = rho * d
        scaled[(chrom[1:] != chrom[:-1]) | (d < 0)] = np.inf
        return scaled

    def switch_probabilities(self, k: int) -> np.ndarray:
        """Jump probabilities ``1 - exp(-rho d_j / K)`` between adjacent variants."""
        return -np.expm1(-self.scaled_distances() / k)

    def miscopy_probability(self, k: int) -> float:
        """The miscopy probability for ``k`` templates."""
        return li_stephens_miscopy(k) if self.miscopy_rate is None else self.miscopy_rate

    def _fit(self, data: GenotypeTrainingData, rng: np.random.Generator) -> None:
        self.genotypes_ = np.ascontiguousarray(data.genotypes, dtype=np.int8)
        self.codes_ = np.asarray(data.codes, dtype=np.int64)
        self.scaled_distances()  # positions are usable

    def _sample(self, plan: GenotypePlan, rng: np.random.Generator) -> np.ndarray:
        m = self.genotypes_.shape[1]
        out = np.empty((plan.n, m), dtype=np.int8)
        haplotypes = self.layout_ == "haplotype"
        for code in np.unique(plan.codes):
            rows = np.flatnonzero(plan.codes == code)
            level = self.genotypes_[self.codes_ == code]
            k = len(level)
            switch = self.switch_probabilities(k)
            miscopy = self.miscopy_probability(k)
            frequencies = class_frequencies(call_counts(level, 1 if haplotypes else 2), 0.0)
            columns = np.arange(m)
            for start in range(0, len(rows), _ROW_CHUNK):
                chunk = rows[start : start + _ROW_CHUNK]
                paths = copying_paths(len(chunk), switch, k, rng)
                copied = level[paths, columns[None, :]]
                errors = rng.random(copied.shape) < miscopy
                if haplotypes:
                    flip = errors & (copied != MISSING)
                    copied[flip] = 1 - copied[flip]
                else:
                    copied[errors] = MISSING  # redrawn from the level's frequencies below
                out[chunk] = fill_missing(copied, frequencies, rng)
        return out

    def _get_state(self) -> dict[str, Any]:
        return {"genotypes": self.genotypes_, "codes": self.codes_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.genotypes_ = np.asarray(state["genotypes"], dtype=np.int8)
        self.codes_ = np.asarray(state["codes"], dtype=np.int64)
