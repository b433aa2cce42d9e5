"""Preprocessing of containers: normalisation, rarefaction, feature filters, splits.

Every function that takes an :class:`~anndata.AnnData` returns a new one and appends a
record of what it did to ``uns["preprocessing"]`` (a list of dicts). Submodules are
imported on first use, so ``import synthomics.preprocessing`` stays fast.

``microbiome``
    :func:`total_sum_scale`, :func:`clr`, :func:`rarefy`, :func:`filter_prevalence`,
    :func:`filter_abundance`, :func:`top_k_prevalent`, :func:`preprint_protocol`.
``genotype``
    :func:`allele_frequencies`, :func:`filter_maf`, :func:`filter_missingness`,
    :func:`impute_mode`, :func:`to_dosage`.
``split``
    :func:`train_test_split`.
``history``
    :func:`preprocessing_history` (the records, whatever form a file gave them back in).
"""

from __future__ import annotations

from synthomics._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "total_sum_scale": "microbiome",
    "clr": "microbiome",
    "clr_transform": "microbiome",
    "rarefy": "microbiome",
    "prevalence": "microbiome",
    "mean_relative_abundance": "microbiome",
    "filter_prevalence": "microbiome",
    "filter_abundance": "microbiome",
    "top_k_prevalent": "microbiome",
    "preprint_protocol": "microbiome",
    "allele_frequencies": "genotype",
    "minor_allele_frequencies": "genotype",
    "missing_fraction": "genotype",
    "filter_maf": "genotype",
    "filter_missingness": "genotype",
    "impute_mode": "genotype",
    "to_dosage": "genotype",
    "preprocessing_history": "history",
    "train_test_split": "split",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = sorted(_EXPORTS)  # names resolved lazily by __getattr__
