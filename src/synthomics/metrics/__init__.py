"""Metrics that judge synthetic data: fidelity, privacy and utility, with a real floor.

>>> from synthomics.metrics import evaluate  # doctest: +SKIP
>>> result = evaluate(test, {"ziln": synthetic}, train=train, label="disease")  # doctest: +SKIP
>>> result.table()  # doctest: +SKIP

Modules, one per family of metric (each a set of small pure functions on arrays):
:mod:`.sparsity`, :mod:`.prevalence`, :mod:`.alpha`, :mod:`.beta` (with
:mod:`.distances`, :mod:`.unifrac` and :mod:`.permanova`), :mod:`.structure`,
:mod:`.privacy`, :mod:`.utility`; :mod:`.records` holds the explicit registry
(:data:`METRICS`) and the result records; :mod:`.protocol` the protocol (:func:`evaluate`).
Submodules are imported on first use, so ``import synthomics.metrics`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "evaluate": "protocol",
    "Evaluation": "records",
    "MetricResult": "records",
    "MetricSpec": "records",
    "METRICS": "records",
    "get_spec": "records",
    "judge": "records",
    "permanova": "permanova",
    "PermanovaResult": "permanova",
    "tree_incidence": "unifrac",
    "weighted_unifrac": "unifrac",
    "unweighted_unifrac": "unifrac",
    "bray_curtis": "distances",
    "jaccard": "distances",
    "nearest_neighbours": "distances",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)  # names resolved lazily by __getattr__
