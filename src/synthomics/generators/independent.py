"""Independent marginals: each taxon drawn from its own empirical distribution.

The no-dependence baseline. For every synthetic sample and every taxon, the taxon's
relative abundance is one of its training values (zeros included) drawn uniformly at
random, independently of the other taxa and samples; rows are then rescaled to sum to one.
Per-taxon prevalence is kept (in expectation); co-occurrence, richness and every
correlation are not, which is what the evaluation's structure metrics should detect.

Reads use MIDASim's presence-preserving rounding, so the taxon zeros drawn here are the
zeros of the counts. A row in which every taxon came out zero is drawn again.

Not from a paper: the standard null model of synthetic-data evaluation (e.g. the
"independent" baselines of synthcity and of MB-GAN's comparisons, Rong et al. 2021).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from synthomics.generators.microbiome import (
    LevelParameters,
    MicrobiomeDraw,
    MicrobiomeTrainingData,
    PerLevelMicrobiomeGenerator,
)

MAX_REDRAWS = 100


class IndependentGenerator(PerLevelMicrobiomeGenerator):
    """Each taxon independently from its empirical distribution (no dependence).

    Parameters
    ----------
    seed, library_size, progress
        See :class:`~synthomics.generators.microbiome.MicrobiomeGenerator`.
    """

    name: ClassVar[str] = "independent"
    description: ClassVar[str] = (
        "Independent marginals: each taxon from its own empirical distribution"
    )
    reference: ClassVar[str] = "no-dependence null model"
    count_model: ClassVar[str] = "presence_preserving"

    def _fit_level(self, data: MicrobiomeTrainingData, rng: np.random.Generator) -> LevelParameters:
        # each taxon's non-zero training values, concatenated by column, with offsets;
        # the remaining n - (number of non-zeros) draws of a taxon are zeros
        P = sp.csc_matrix(data.proportions)
        P.sort_indices()
        arrays = {
            "values": np.asarray(P.data, dtype=np.float64),
            "offsets": np.asarray(P.indptr, dtype=np.int64),
            "n_samples": np.asarray(data.n_samples, dtype=np.int64),
        }
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
        out = self._draw(a, n, rng)
        for _ in range(MAX_REDRAWS):
            empty = np.flatnonzero(out.sum(axis=1) == 0)
            if not empty.size:
                break
            out[empty] = self._draw(a, len(empty), rng)
        else:
            raise RuntimeError("independent: could not draw non-empty samples")
        return MicrobiomeDraw(out / out.sum(axis=1, keepdims=True))

    @staticmethod
    def _draw(a: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
        values, offsets, n_train = a["values"], a["offsets"], int(a["n_samples"])
        n_nonzero = np.diff(offsets)
        pick = rng.integers(0, n_train, size=(n, len(n_nonzero)))
        present = pick < n_nonzero[None, :]
        index = np.where(present, offsets[:-1][None, :] + pick, 0)
        return np.where(present, values[index] if len(values) else 0.0, 0.0)
