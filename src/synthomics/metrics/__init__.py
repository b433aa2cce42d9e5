"""Metrics that judge synthetic data: fidelity, privacy and utility, with a real floor.

>>> from synthomics.metrics import evaluate  # doctest: +SKIP
>>> result = evaluate(test, {"ziln": synthetic}, train=train, label="disease")  # doctest: +SKIP
>>> result.table()  # doctest: +SKIP

Modules, one per family of metric (each a set of small pure functions on arrays):
:mod:`.sparsity`, :mod:`.prevalence`, :mod:`.alpha`, :mod:`.beta` (with
:mod:`.distances`, :mod:`.unifrac` and :mod:`.permanova`), :mod:`.multivariate`,
:mod:`.privacy`, :mod:`.utility`; :mod:`.specs` holds :class:`MetricSpec`, the pass rule
(:func:`judge`) and the explicit registry (:data:`METRICS`), :mod:`.results` the result
records (:class:`Evaluation`); :mod:`.null_se` the standard errors of the real-vs-real
noise. :mod:`.engine` runs an evaluation for both omics (subsampling, the real-vs-real
floor, the steps, the results); :mod:`.protocol` holds the microbiome steps
(:func:`evaluate`), :mod:`.genotype.protocol` the genotype ones (:func:`evaluate_genotypes`).
Submodules are imported on first use, so ``import synthomics.metrics`` stays fast.
"""

from __future__ import annotations

from synthomics._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "evaluate": "protocol",
    "evaluate_genotypes": "genotype.protocol",
    "GENOTYPE_METRICS": "genotype.specs",
    "Evaluation": "results",
    "MetricResult": "results",
    "MetricSpec": "specs",
    "METRICS": "specs",
    "get_spec": "specs",
    "judge": "specs",
    "permanova": "permanova",
    "PermanovaResult": "permanova",
    "tree_incidence": "unifrac",
    "weighted_unifrac": "unifrac",
    "unweighted_unifrac": "unifrac",
    "bray_curtis": "distances",
    "jaccard": "distances",
    "nearest_neighbours": "distances",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = sorted(_EXPORTS)  # names resolved lazily by __getattr__
