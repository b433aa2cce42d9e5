"""Row bootstrap: synthetic samples are training samples drawn with replacement.

The privacy worst case, flagged as such in every output (``uns["privacy_worst_case"]``)
and in the saved manifest: each synthetic sample *is* a real one. It is the ceiling of
every fidelity metric and the floor of every privacy metric, which is why the evaluation
needs it. Never share its output.

With count training data and no ``library_size`` given, the copied rows keep their own
reads (and library sizes); with ``library_size`` given, reads are redrawn from the copied
proportions by presence-preserving rounding. The model stores the whole training table.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from synthomics.generators.microbiome import (
    LevelParameters,
    MicrobiomeDraw,
    MicrobiomeTrainingData,
    PerLevelMicrobiomeGenerator,
)


class BootstrapGenerator(PerLevelMicrobiomeGenerator):
    """Training rows resampled with replacement (privacy worst case).

    Parameters
    ----------
    seed, library_size, progress
        See :class:`~synthomics.generators.microbiome.MicrobiomeGenerator`.
    """

    name: ClassVar[str] = "bootstrap"
    description: ClassVar[str] = (
        "Row bootstrap of the training samples: PRIVACY WORST CASE, copies real samples"
    )
    reference: ClassVar[str] = "resampling with replacement (Efron 1979)"
    privacy_worst_case: ClassVar[bool] = True
    count_model: ClassVar[str] = "presence_preserving"
    min_samples_per_level: ClassVar[int] = 1

    def _fit_level(self, data: MicrobiomeTrainingData, rng: np.random.Generator) -> LevelParameters:
        arrays = {"proportions": data.proportions}
        if data.counts is not None:
            arrays["counts"] = data.counts
        return LevelParameters(arrays, {})

    def _sample_level(
        self,
        params: LevelParameters,
        n: int,
        library_sizes: np.ndarray | None,
        user_library_sizes: bool,
        rng: np.random.Generator,
    ) -> MicrobiomeDraw:
        a = params.arrays
        rows = rng.integers(0, a["proportions"].shape[0], size=n)
        counts = None
        if "counts" in a and not user_library_sizes and library_sizes is not None:
            counts = a["counts"][rows]
        return MicrobiomeDraw(a["proportions"][rows], counts)
