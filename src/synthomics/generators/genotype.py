"""The genotype layer of the generator interface: 0/1/2 dosages or 0/1 haplotypes.

Input
    A genotype container (:mod:`synthomics.container`): ``X`` int8, individuals (or
    haplotypes) x variants, with -1 for missing calls; ``var`` chrom/pos/id/ref/alt;
    ``uns`` ploidy, phased, layout.

Output (:meth:`GenotypeGenerator.sample`)
    A genotype container with the training variants in training order, ``X`` int8 with
    values in {0, 1, 2} (dosage layout) or {0, 1} (haplotype layout) and no missing calls,
    the condition column in ``obs`` for conditional models, and ``uns`` ``generator`` and
    ``privacy_worst_case`` as for every generator.

Subclasses implement ``_fit(data: GenotypeTrainingData, rng)`` and
``_sample(plan: GenotypePlan, rng) -> numpy.ndarray`` (the ``n x m`` genotype matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import anndata as ad
import numpy as np

from synthomics.container import MISSING
from synthomics.errors import InputError
from synthomics.generators.base import Generator, GeneratorOutputError


@dataclass(frozen=True)
class GenotypeTrainingData:
    """Validated training genotypes handed to :meth:`Generator._fit`.

    Attributes
    ----------
    genotypes
        ``n x m`` int8; -1 marks a missing call.
    codes
        Condition level code of each row (all 0 without a condition).
    layout
        ``"dosage"`` or ``"haplotype"``.
    ploidy
        Ploidy recorded by the reader.
    """

    genotypes: np.ndarray
    codes: np.ndarray
    layout: str
    ploidy: int

    @property
    def max_value(self) -> int:
        return 2 if self.layout == "dosage" else 1

    def group(self, code: int) -> GenotypeTrainingData:
        """The rows of one condition level."""
        rows = np.flatnonzero(self.codes == code)
        return GenotypeTrainingData(
            self.genotypes[rows], self.codes[rows], self.layout, self.ploidy
        )


@dataclass(frozen=True)
class GenotypePlan:
    """What :meth:`Generator._sample` must draw: one condition code per row."""

    codes: np.ndarray

    @property
    def n(self) -> int:
        return len(self.codes)


class GenotypeGenerator(Generator):
    """Base of genotype generators: see the module documentation for input and output."""

    omics: ClassVar[str] = "genotype"

    def __init__(self, *, seed: int = 0, progress: bool | None = None) -> None:
        super().__init__(seed=seed, progress=progress)
        self.layout_ = "dosage"
        self.ploidy_ = 2
        self.phased_ = False

    def _prepare(self, adata: ad.AnnData, codes: np.ndarray) -> GenotypeTrainingData:
        source = adata.uns.get("source_file")
        layout = adata.uns.get("layout", "dosage")
        if layout not in ("dosage", "haplotype"):
            raise InputError(
                source, f"uns['layout'] is {layout!r}", expected="'dosage' or 'haplotype'"
            )
        X = np.asarray(adata.X)
        allowed = [0, 1, 2] if layout == "dosage" else [0, 1]
        bad = ~np.isin(X, [*allowed, MISSING])
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                source,
                f"genotype value {X[i, j]!r}",
                where=f"row {adata.obs_names[i]!r}, variant {adata.var_names[j]!r}",
                expected=f"values in {allowed} or {MISSING} for missing",
            )
        self.layout_ = str(layout)
        self.ploidy_ = int(adata.uns.get("ploidy", 2))
        self.phased_ = bool(adata.uns.get("phased", False))
        return GenotypeTrainingData(X.astype(np.int8), codes, self.layout_, self.ploidy_)

    def _sample_omics(
        self, codes: np.ndarray, rng: np.random.Generator, **options: Any
    ) -> ad.AnnData:
        from synthomics.container import genotype_anndata

        if options:
            raise InputError(
                None,
                f"unknown sampling options {sorted(options)}",
                expected="none for genotype generators",
            )
        genotypes = np.asarray(self._sample(GenotypePlan(codes), rng))
        n = len(codes)
        if genotypes.shape != (n, len(self.feature_names_)):
            raise GeneratorOutputError(
                f"{self.name} drew genotypes of shape {genotypes.shape}, "
                f"expected {(n, len(self.feature_names_))}"
            )
        check_genotype_values(genotypes, self.layout_, name=self.name)
        width = len(str(n))
        ids = [f"synthetic_{i:0{width}d}" for i in range(1, n + 1)]
        adata = genotype_anndata(
            genotypes.astype(np.int8),
            ids,
            self.var_,
            ploidy=self.ploidy_,
            phased=self.phased_,
            layout=self.layout_,
        )
        adata.var_names = self.feature_names_
        if self.layout_ == "haplotype":
            individual, haplotype = haplotype_pairs(codes, ids, self.ploidy_)
            adata.obs["individual"] = individual
            adata.obs["haplotype"] = haplotype
        return adata

    def _check_output(self, adata: ad.AnnData, codes: np.ndarray) -> None:
        if adata.n_obs != len(codes):
            raise GeneratorOutputError(f"{self.name}: {adata.n_obs} rows instead of {len(codes)}")
        if list(map(str, adata.var_names)) != self.feature_names_:
            raise GeneratorOutputError(f"{self.name}: variants differ from the training ones")
        check_genotype_values(np.asarray(adata.X), self.layout_, name=self.name)

    def _omics_manifest(self) -> dict[str, Any]:
        return {"layout": self.layout_, "ploidy": self.ploidy_, "phased": self.phased_}

    def _set_omics_manifest(self, info: dict[str, Any]) -> None:
        self.layout_ = info.get("layout", "dosage")
        self.ploidy_ = int(info.get("ploidy", 2))
        self.phased_ = bool(info.get("phased", False))


def check_genotype_values(genotypes: np.ndarray, layout: str, *, name: str = "generator") -> None:
    """Raise :class:`GeneratorOutputError` unless every value is in {0,1,2} (or {0,1})."""
    allowed = [0, 1, 2] if layout == "dosage" else [0, 1]
    if not np.issubdtype(genotypes.dtype, np.integer):
        raise GeneratorOutputError(f"{name} produced non-integer genotypes ({genotypes.dtype})")
    bad = ~np.isin(genotypes, allowed)
    if bad.any():
        raise GeneratorOutputError(
            f"{name} produced genotype value {int(genotypes[bad][0])}; expected {allowed} "
            f"for the {layout} layout"
        )


def haplotype_pairs(codes: np.ndarray, ids: list[str], ploidy: int) -> tuple[list[str], np.ndarray]:
    """``obs["individual"]`` and ``obs["haplotype"]`` of synthetic haplotype rows.

    Diploid haplotype rows are paired in order within each condition level (rows of one
    level are contiguous), so both haplotypes of a synthetic individual share its level;
    an odd count leaves the level's last haplotype alone as an individual of its own
    (writers that need two haplotypes per individual then refuse it: ask for even counts).
    Haploid rows are one individual each.
    """
    n = len(codes)
    haplotype = np.zeros(n, dtype=np.int64)
    owner = np.arange(n)
    if ploidy == 2:
        start = 0
        for stop in [*np.flatnonzero(np.diff(codes) != 0) + 1, n]:
            rank = np.arange(stop - start)
            haplotype[start:stop] = rank % 2
            owner[start:stop] = start + rank - rank % 2
            start = stop
    return [ids[i] for i in owner], haplotype
