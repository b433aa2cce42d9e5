"""Genotype preprocessing: allele frequencies, MAF and missingness filters, simple imputation.

Every function takes a genotype :class:`~anndata.AnnData` (see :mod:`synthomics.container`)
and returns a new object (or a new array); the input is never modified. Missing calls
(:data:`~synthomics.container.MISSING`, ``-1``) are left out of every frequency, and both
layouts are handled: ``"dosage"`` (individuals x variants, ALT allele counts 0..ploidy) and
``"haplotype"`` (two rows per diploid individual, alleles 0/1, ``obs["individual"]`` and
``obs["haplotype"]`` tie the rows together). Functions returning a container append a record
of the step to ``uns["preprocessing"]`` (a list of dicts, oldest first), as the microbiome
preprocessing does.
"""

from __future__ import annotations

from typing import Any, Literal

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import MISSING, genotype_anndata
from synthomics.errors import InputError
from synthomics.preprocessing.history import record_step

__all__ = [
    "allele_frequencies",
    "dense_calls",
    "filter_maf",
    "filter_missingness",
    "genotype_layout",
    "impute_mode",
    "minor_allele_frequencies",
    "missing_fraction",
    "to_dosage",
]


def genotype_layout(adata: ad.AnnData) -> str:
    """Return ``"dosage"`` or ``"haplotype"`` for a genotype container, or raise.

    Raises
    ------
    InputError
        If ``adata`` is not a genotype container, or a haplotype layout lacks
        ``obs["individual"]``/``obs["haplotype"]``.
    """
    if adata.uns.get("omics") != "genotype":
        raise InputError(
            adata.uns.get("source_file"),
            f"AnnData has uns['omics'] = {adata.uns.get('omics')!r}",
            expected="a genotype container (read with synthomics.io.read)",
        )
    layout = adata.uns.get("layout", "dosage")
    if layout not in ("dosage", "haplotype"):
        raise InputError(
            adata.uns.get("source_file"),
            f"unknown genotype layout {layout!r}",
            expected="'dosage' or 'haplotype'",
        )
    if layout == "haplotype":
        missing = [c for c in ("individual", "haplotype") if c not in adata.obs.columns]
        if missing:
            raise InputError(
                adata.uns.get("source_file"),
                f"haplotype layout without obs columns {missing}",
                expected="obs['individual'] and obs['haplotype'] on every haplotype row",
            )
    return layout


def _with_record(adata: ad.AnnData, step: str, **params: Any) -> ad.AnnData:
    """Append the step to ``adata.uns["preprocessing"]`` (:func:`.history.record_step`)."""
    record_step(adata, step, **params)
    return adata


def dense_calls(adata: ad.AnnData) -> np.ndarray:
    """``adata.X`` as a dense NumPy array (sparse matrices are expanded)."""
    X = adata.X
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.asarray(X)


def _ploidy(adata: ad.AnnData, layout: str) -> int:
    return 1 if layout == "haplotype" else int(adata.uns.get("ploidy", 2))


def allele_frequencies(adata: ad.AnnData) -> pd.Series:
    """Frequency of the ALT allele (the allele counted in ``X``) at each variant.

    Missing calls are left out: the frequency is the ALT count over the called alleles
    (``ploidy`` per called dosage, one per called haplotype), as in
    :meth:`allel.AlleleCountsArray.to_frequencies`.

    Parameters
    ----------
    adata
        A genotype container, either layout.

    Returns
    -------
    pandas.Series
        Float frequencies indexed by variant id, named ``"alt_frequency"``; NaN where no
        call is present.
    """
    layout = genotype_layout(adata)
    X = dense_calls(adata).astype(np.int64)
    called = X != MISSING
    alt_count = np.where(called, X, 0).sum(axis=0)
    allele_count = called.sum(axis=0) * _ploidy(adata, layout)
    with np.errstate(invalid="ignore", divide="ignore"):
        freq = np.where(allele_count > 0, alt_count / np.maximum(allele_count, 1), np.nan)
    return pd.Series(freq, index=adata.var_names.copy(), name="alt_frequency")


def minor_allele_frequencies(adata: ad.AnnData) -> pd.Series:
    """Minor allele frequency, ``min(p, 1 - p)`` of :func:`allele_frequencies`."""
    p = allele_frequencies(adata)
    return np.minimum(p, 1.0 - p).rename("maf")


def missing_fraction(
    adata: ad.AnnData, axis: Literal["variants", "individuals"] = "variants"
) -> pd.Series:
    """Fraction of missing calls per variant or per individual.

    For the haplotype layout an individual's fraction counts the alleles of both of its
    haplotype rows, and the result is indexed by ``obs["individual"]``.
    """
    layout = genotype_layout(adata)
    missing = dense_calls(adata) == MISSING
    if axis == "variants":
        return pd.Series(missing.mean(axis=0), index=adata.var_names.copy(), name="missing")
    if axis != "individuals":
        raise InputError(None, f"unknown axis {axis!r}", expected="'variants' or 'individuals'")
    if layout == "dosage":
        return pd.Series(missing.mean(axis=1), index=adata.obs_names.copy(), name="missing")
    individual = adata.obs["individual"].astype(str).to_numpy()
    frame = pd.DataFrame({"individual": individual, "n_missing": missing.sum(axis=1)})
    frame["n"] = missing.shape[1]
    grouped = frame.groupby("individual", sort=False)[["n_missing", "n"]].sum()
    return (grouped["n_missing"] / grouped["n"]).rename("missing")


def filter_maf(adata: ad.AnnData, min_maf: float = 0.01) -> ad.AnnData:
    """Keep variants whose minor allele frequency is at least ``min_maf``.

    Variants with no called allele have no frequency and are removed.

    Parameters
    ----------
    adata
        A genotype container, either layout.
    min_maf
        Threshold in ``[0, 0.5]``; ``0`` keeps every variant with a call (monomorphic ones too).

    Returns
    -------
    anndata.AnnData
        A new container with the kept variants, in their order.
    """
    if not 0.0 <= min_maf <= 0.5:
        raise InputError(None, f"min_maf = {min_maf}", expected="a value in [0, 0.5]")
    maf = minor_allele_frequencies(adata).to_numpy()
    keep = np.nan_to_num(maf, nan=-1.0) >= min_maf
    return _with_record(
        adata[:, keep].copy(),
        "filter_maf",
        min_maf=float(min_maf),
        n_variants_before=int(adata.n_vars),
        n_variants_after=int(keep.sum()),
    )


def filter_missingness(
    adata: ad.AnnData,
    max_missing: float = 0.1,
    axis: Literal["variants", "individuals"] = "variants",
) -> ad.AnnData:
    """Remove variants (or individuals) with more than ``max_missing`` missing calls.

    Parameters
    ----------
    adata
        A genotype container, either layout.
    max_missing
        Largest allowed missing fraction, in ``[0, 1]``; rows/columns equal to it are kept.
    axis
        ``"variants"`` filters columns; ``"individuals"`` filters rows. For the haplotype
        layout an individual is judged on both haplotypes and both rows are kept or removed
        together.

    Returns
    -------
    anndata.AnnData
        A new, filtered container.
    """
    if not 0.0 <= max_missing <= 1.0:
        raise InputError(None, f"max_missing = {max_missing}", expected="a value in [0, 1]")
    layout = genotype_layout(adata)
    fraction = missing_fraction(adata, axis)
    keep = fraction.to_numpy() <= max_missing
    if axis == "variants":
        out = adata[:, keep].copy()
    elif layout == "dosage":
        out = adata[keep, :].copy()
    else:
        kept = set(fraction.index[keep])
        out = adata[adata.obs["individual"].astype(str).isin(kept).to_numpy(), :].copy()
    return _with_record(
        out,
        "filter_missingness",
        max_missing=float(max_missing),
        axis=axis,
        n_before=len(keep),
        n_after=int(keep.sum()),
    )


def impute_mode(adata: ad.AnnData) -> ad.AnnData:
    """Replace missing calls with the most frequent called value of each variant.

    A simple baseline (as ``SimpleImputer(strategy="most_frequent")``): the mode of the
    dosages (or of the alleles, for the haplotype layout); ties go to the smaller value and
    variants without any call get 0.

    Returns
    -------
    anndata.AnnData
        A new container with no missing call.
    """
    layout = genotype_layout(adata)
    calls = dense_calls(adata).astype(np.int8, copy=True)
    n_values = _ploidy(adata, layout) + 1
    counts = np.stack([np.count_nonzero(calls == value, axis=0) for value in range(n_values)])
    mode = counts.argmax(axis=0).astype(np.int8)  # argmax picks the first (smallest) of ties
    rows, cols = np.nonzero(calls == MISSING)
    calls[rows, cols] = mode[cols]
    out = adata.copy()
    out.X = calls
    return _with_record(out, "impute_mode", n_imputed=len(rows))


def to_dosage(adata: ad.AnnData) -> ad.AnnData:
    """Turn a haplotype-layout container into a dosage one; dosage containers are copied.

    The haplotype rows of each individual (grouped by ``obs["individual"]``, in order of
    first appearance) are summed; a dosage is missing when any of its alleles is. Obs
    columns that are constant within every individual are kept; ``uns["phased"]`` is kept
    as a record of where the data came from. Individuals with a single haplotype row become
    haploid (``uns["ploidy"] = 1`` when all are).

    Returns
    -------
    anndata.AnnData
        Individuals x variants dosage container.
    """
    layout = genotype_layout(adata)
    if layout == "dosage":
        return adata.copy()
    X = dense_calls(adata).astype(np.int16)
    individual = adata.obs["individual"].astype(str).to_numpy()
    codes, names = pd.factorize(individual, sort=False)
    n_ind = len(names)
    n_hap = np.bincount(codes, minlength=n_ind)
    if n_hap.max(initial=0) > 2:
        worst = names[int(n_hap.argmax())]
        raise InputError(
            adata.uns.get("source_file"),
            f"individual {worst!r} has {n_hap.max()} haplotype rows",
            expected="one or two haplotype rows per individual",
        )
    dosage = np.zeros((n_ind, X.shape[1]), dtype=np.int16)
    any_missing = np.zeros((n_ind, X.shape[1]), dtype=bool)
    np.add.at(dosage, codes, np.where(X == MISSING, 0, X))
    np.logical_or.at(any_missing, codes, X == MISSING)
    dosage[any_missing] = MISSING
    first_row = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    obs = adata.obs.iloc[first_row].copy()
    obs.index = pd.Index(names)
    extra = [c for c in obs.columns if c not in ("individual", "haplotype")]
    constant = [
        c
        for c in extra
        if (adata.obs[c].groupby(codes, sort=False, observed=True).nunique(dropna=False) <= 1).all()
    ]
    obs = obs.loc[:, constant]
    ploidy = 1 if n_hap.max(initial=1) == 1 else 2
    out = genotype_anndata(
        dosage.astype(np.int8),
        list(names),
        adata.var,
        ploidy=ploidy,
        phased=bool(adata.uns.get("phased", False)),
        layout="dosage",
        obs=obs,
        source=adata.uns.get("source_file"),
    )
    for key, value in adata.uns.items():
        out.uns.setdefault(key, value)
    return _with_record(out, "to_dosage", n_haplotypes=int(adata.n_obs))
