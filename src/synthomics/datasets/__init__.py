"""Datasets made in code: simulated genotypes and microbiome tables, and the bundled demo.

``simulate_genotypes`` (:mod:`.genotype_sim`), ``synthetic_microbiome``
(:mod:`.synthetic`), ``demo_path`` and ``load_demo`` (:mod:`.demo`, the Nielsen IBD
species table shipped in ``datasets/data``).

Submodules are imported on first use, so ``import synthomics.datasets`` stays fast.
"""

from __future__ import annotations

from synthomics._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "simulate_genotypes": "genotype_sim",
    "synthetic_microbiome": "synthetic",
    "demo_path": "demo",
    "load_demo": "demo",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = sorted(_EXPORTS)  # names resolved lazily by __getattr__
