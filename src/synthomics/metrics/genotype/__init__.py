"""Genotype metrics: LD, population structure, Hamming distances, privacy and utility.

>>> from synthomics.metrics import evaluate_genotypes  # doctest: +SKIP
>>> ev = evaluate_genotypes(test, {"hmm": synth}, train=train, label="population")  # doctest: +SKIP

Modules: :mod:`.ld` (r² by matrix products, LD decay), :mod:`.population` (allele
frequencies, heterozygosity, real-fitted PCA), :mod:`.distances` (Hamming distances and
nearest neighbours), :mod:`.utility` (TSTR and augmentation), :mod:`.specs` (the explicit
registry :data:`GENOTYPE_METRICS`) and :mod:`.protocol` (:func:`evaluate_genotypes`).
"""

from __future__ import annotations

from synthomics._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "evaluate_genotypes": "protocol",
    "GENOTYPE_METRICS": "specs",
    "GENOTYPE_SPECS": "specs",
    "r_squared": "ld",
    "ld_comparison": "ld",
    "hamming_matrix": "distances",
    "RealPCA": "population",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = sorted(_EXPORTS)  # names resolved lazily by __getattr__
