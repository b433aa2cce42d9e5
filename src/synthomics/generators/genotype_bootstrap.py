"""Genotype row bootstrap: synthetic individuals are training individuals drawn with replacement.

The privacy worst case, flagged as such in every output (``uns["privacy_worst_case"]``)
and in the saved manifest: each synthetic row *is* a real individual (or haplotype), so
the output and the saved model are the training genotypes. It is the ceiling of every
fidelity metric and the floor of every privacy metric. Never share its output.

Rows are drawn per condition level from that level's training rows. A missing call of a
copied row is drawn from the level's observed genotype frequencies of that variant, since
the output has no missing calls.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from synthomics.generators.genotype import GenotypeGenerator, GenotypePlan, GenotypeTrainingData
from synthomics.generators.genotype_frequency import call_counts, class_frequencies, fill_missing

__all__ = ["GenotypeBootstrapGenerator"]


class GenotypeBootstrapGenerator(GenotypeGenerator):
    """Training rows resampled with replacement per level (privacy worst case).

    Parameters
    ----------
    seed, progress
        See :class:`~synthomics.generators.base.Generator`.

    Attributes
    ----------
    genotypes_, codes_
        The training genotypes and their level codes (the model *is* the data).
    """

    name: ClassVar[str] = "genotype_bootstrap"
    description: ClassVar[str] = (
        "Row bootstrap of the training genotypes: PRIVACY WORST CASE, copies real individuals"
    )
    reference: ClassVar[str] = "resampling with replacement (Efron 1979)"
    privacy_worst_case: ClassVar[bool] = True
    min_samples_per_level: ClassVar[int] = 1
    fast_config: ClassVar[dict[str, Any]] = {}

    def __init__(self, *, seed: int = 0, progress: bool | None = None) -> None:
        super().__init__(seed=seed, progress=progress)
        self.genotypes_ = np.zeros((0, 0), dtype=np.int8)
        self.codes_ = np.zeros(0, dtype=np.int64)

    def _fit(self, data: GenotypeTrainingData, rng: np.random.Generator) -> None:
        self.genotypes_ = np.ascontiguousarray(data.genotypes, dtype=np.int8)
        self.codes_ = np.asarray(data.codes, dtype=np.int64)

    def _sample(self, plan: GenotypePlan, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((plan.n, self.genotypes_.shape[1]), dtype=np.int8)
        max_value = 2 if self.layout_ == "dosage" else 1
        for code in np.unique(plan.codes):
            rows = np.flatnonzero(plan.codes == code)
            level = self.genotypes_[self.codes_ == code]
            drawn = level[rng.integers(0, len(level), size=len(rows))]
            frequencies = class_frequencies(call_counts(level, max_value), 0.0)
            out[rows] = fill_missing(drawn, frequencies, rng)
        return out

    def _get_state(self) -> dict[str, Any]:
        return {"genotypes": self.genotypes_, "codes": self.codes_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.genotypes_ = np.asarray(state["genotypes"], dtype=np.int8)
        self.codes_ = np.asarray(state["codes"], dtype=np.int64)
