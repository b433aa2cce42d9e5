"""Datasets made in code: simulated genotypes and microbiome tables, and the bundled demo.

``simulate_genotypes`` (:mod:`.genotype_sim`), ``synthetic_microbiome``
(:mod:`.synthetic`), ``demo_path`` and ``load_demo`` (:mod:`.demo`, the Nielsen IBD
species table shipped in ``datasets/data``).

Submodules are imported on first use, so ``import synthomics.datasets`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "simulate_genotypes": "genotype_sim",
    "synthetic_microbiome": "synthetic",
    "demo_path": "demo",
    "load_demo": "demo",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)  # names resolved lazily by __getattr__
