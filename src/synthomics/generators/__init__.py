"""Synthetic-data generators behind one interface: ``fit``, ``sample``, ``save``, ``load``.

>>> from synthomics.generators import get_generator, load_generator
>>> model = get_generator("ziln_copula", seed=1).fit(adata, condition="disease")  # doctest: +SKIP
>>> synthetic = model.sample(conditions={"disease": {"IBD": 100, "control": 200}})  # doctest: +SKIP
>>> model.save("ziln_model/")  # doctest: +SKIP
>>> same = load_generator("ziln_model/")  # doctest: +SKIP

See :mod:`synthomics.generators.base` for the contract, :mod:`.microbiome` and
:mod:`.genotype` for the omics layers (subclass :class:`MicrobiomeGenerator`,
:class:`PerLevelMicrobiomeGenerator` or :class:`GenotypeGenerator`), and
:mod:`synthomics.generators.registry` for the list of models.
"""

from __future__ import annotations

import os

from synthomics.generators.base import (
    ConditionSpec,
    FitProgress,
    Generator,
    GeneratorOutputError,
    NotFittedError,
)
from synthomics.generators.genotype import GenotypeGenerator
from synthomics.generators.microbiome import MicrobiomeGenerator, PerLevelMicrobiomeGenerator
from synthomics.generators.registry import (
    available_generators,
    generator_class,
    get_generator,
    register,
)
from synthomics.generators.spike_in import Covariate, Effect, SpikedCohort, spike_in


def load_generator(directory: str | os.PathLike[str]) -> Generator:
    """Load whichever generator a folder written by ``save`` holds."""
    return Generator.load(directory)


__all__ = [
    "ConditionSpec",
    "Covariate",
    "Effect",
    "FitProgress",
    "Generator",
    "GeneratorOutputError",
    "GenotypeGenerator",
    "MicrobiomeGenerator",
    "NotFittedError",
    "PerLevelMicrobiomeGenerator",
    "SpikedCohort",
    "available_generators",
    "generator_class",
    "get_generator",
    "load_generator",
    "register",
    "spike_in",
]
