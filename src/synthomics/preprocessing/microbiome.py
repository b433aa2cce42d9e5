# Over 450 lines: the microbiome filters and transforms, which share the tree pruning and step
# records.
"""Normalisation, rarefaction and feature filters for microbiome tables.

Two kinds of function live here:

* array functions (:func:`prevalence`, :func:`mean_relative_abundance`,
  :func:`clr_transform`) take a samples x features NumPy array and return an array;
* container functions take a microbiome :class:`~anndata.AnnData` (see
  :mod:`synthomics.container`), never modify it, and return a new one with a record of
  the step appended to ``uns["preprocessing"]`` (a list of dicts, oldest first).

Filters keep the input order of the features they keep and prune ``uns["tree"]`` to the
kept features with :meth:`skbio.TreeNode.shear`, so that the tree and the table stay
consistent.

Examples
--------
>>> from synthomics.datasets import synthetic_microbiome
>>> from synthomics.preprocessing import preprint_protocol, total_sum_scale
>>> adata = synthetic_microbiome(n_samples=20, n_taxa=30, seed=1)
>>> kept = preprint_protocol(adata, k=10)
>>> kept.n_vars
10
>>> rel = total_sum_scale(kept)
>>> rel.uns["units"]
'proportion'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import anndata as ad
import numpy as np

from synthomics.container import tree_from_newick, tree_to_newick
from synthomics.errors import InputError
from synthomics.preprocessing.history import record_step

__all__ = [
    "clr",
    "clr_transform",
    "filter_abundance",
    "filter_prevalence",
    "mean_relative_abundance",
    "preprint_protocol",
    "prevalence",
    "rarefy",
    "top_k_prevalent",
    "total_sum_scale",
]


# --------------------------------------------------------------------------- arrays


def prevalence(X: np.ndarray) -> np.ndarray:
    """Fraction of samples (rows) in which each feature (column) is non-zero.

    Parameters
    ----------
    X
        Samples x features abundances (any units).

    Returns
    -------
    numpy.ndarray
        One value in [0, 1] per feature.
    """
    X = np.asarray(X)
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    return (X > 0).mean(axis=0)


def _relative(X: np.ndarray) -> np.ndarray:
    """Rows divided by their sums; rows summing to zero stay zero."""
    X = np.asarray(X, dtype=np.float64)
    totals = X.sum(axis=1, keepdims=True)
    return np.divide(X, totals, out=np.zeros_like(X), where=totals > 0)


def mean_relative_abundance(X: np.ndarray) -> np.ndarray:
    """Mean over samples of each feature's share of its sample's total.

    Each row is divided by its own sum first (rows summing to zero count as zeros), so
    the result does not depend on the units (counts, proportion or percent).

    Parameters
    ----------
    X
        Samples x features abundances.

    Returns
    -------
    numpy.ndarray
        One value in [0, 1] per feature; the values sum to the fraction of non-empty
        samples.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    return _relative(X).mean(axis=0)


def clr_transform(X: np.ndarray, pseudocount: float | None = None) -> np.ndarray:
    """Centred log-ratio transform of each row, with zeros replaced first.

    Parameters
    ----------
    X
        Samples x features abundances (counts, proportions or percent); non-negative.
    pseudocount
        How zeros are handled before the logarithm:

        * ``None`` (default): rows are closed to proportions and zeros are replaced by
          multiplicative replacement (:func:`skbio.stats.composition.multi_replace`,
          Martín-Fernández et al. 2003) with scikit-bio's default
          :math:`\\delta = 1/D^2` for :math:`D` features; non-zero parts shrink so each
          row still sums to one. The result equals
          ``skbio.stats.composition.clr(multi_replace(X))``.
        * a positive number ``c``: ``clr(X + c)`` on the values as given (``c = 1`` is
          the usual choice for counts, ``c`` of the order of the smallest non-zero
          proportion for relative data).

    Returns
    -------
    numpy.ndarray
        Same shape as ``X``; every row sums to zero.

    Raises
    ------
    InputError
        On negative values, an empty row with multiplicative replacement, or a
        non-positive pseudocount.
    """
    from skbio.stats.composition import clr as skbio_clr
    from skbio.stats.composition import multi_replace

    X = np.asarray(X, dtype=np.float64)
    if (X < 0).any():
        raise InputError(None, "negative abundance", expected="non-negative values for clr")
    if X.shape[1] < 2:
        raise InputError(None, f"{X.shape[1]} feature(s)", expected="at least 2 features for clr")
    if pseudocount is None:
        empty = np.flatnonzero(X.sum(axis=1) == 0)
        if len(empty):
            raise InputError(
                None,
                f"{len(empty)} sample(s) with total abundance 0 (first: row {empty[0]})",
                expected="non-empty samples for multiplicative replacement",
            )
        # multi_replace closes each row to proportions before replacing zeros
        composition = multi_replace(X) if (X == 0).any() else X / X.sum(axis=1, keepdims=True)
    else:
        if not pseudocount > 0:
            raise InputError(None, f"pseudocount {pseudocount!r}", expected="a positive number")
        composition = X + float(pseudocount)
    return np.asarray(skbio_clr(composition), dtype=np.float64)


# ----------------------------------------------------------------------- containers


def _check_microbiome(adata: ad.AnnData) -> None:
    kind = adata.uns.get("omics")
    if kind != "microbiome":
        raise InputError(
            adata.uns.get("source_file"),
            f"expected a microbiome table, got uns['omics'] = {kind!r}",
            expected="a container read with synthomics.io.read_microbiome",
        )


def _pruned_tree(newick: str, keep: Sequence[str]) -> str | None:
    """``newick`` sheared to the tips named in ``keep``; ``None`` when none is on it.

    Stored trees have their tips renamed to feature ids by :mod:`synthomics.io.tree`.
    """
    tree = tree_from_newick(newick)
    kept = set(keep)
    keep_tips = [t.name for t in tree.tips() if t.name in kept]
    if not keep_tips:
        return None
    return tree_to_newick(tree.shear(keep_tips))


def _subset_features(adata: ad.AnnData, mask: np.ndarray, step: str, **params: Any) -> ad.AnnData:
    """New container with the features where ``mask`` is true, tree pruned, step recorded."""
    mask = np.asarray(mask, dtype=bool)
    new = adata[:, mask].copy()
    tree = adata.uns.get("tree")
    if tree is not None and not mask.all():
        pruned = _pruned_tree(str(tree), list(new.var_names))
        if pruned is None:
            warnings.warn(
                f"{step}: no tree tip stands for a kept feature; uns['tree'] removed",
                UserWarning,
                stacklevel=3,
            )
            for key in ("tree", "tree_source", "tree_match"):
                new.uns.pop(key, None)
            if "on_tree" in new.var.columns:
                new.var["on_tree"] = False
        else:
            new.uns["tree"] = pruned
        if isinstance(new.uns.get("tree_match"), dict):
            # the match report describes the table as read; keep its counts current
            report = {
                k: v
                for k, v in new.uns["tree_match"].items()
                if not k.startswith("abundance_fraction")
            }
            report["n_features"] = int(new.n_vars)
            if "on_tree" in new.var.columns:
                report["n_matched"] = int(new.var["on_tree"].astype(bool).sum())
            new.uns["tree_match"] = report
    record_step(
        new,
        step,
        **params,
        n_features_before=int(adata.n_vars),
        n_features_after=int(new.n_vars),
    )
    return new


def total_sum_scale(adata: ad.AnnData) -> ad.AnnData:
    """Total-sum scaling: divide each sample by its total, giving proportions.

    Samples whose total is zero cannot be scaled; they are dropped with a warning and
    listed in the record.

    Parameters
    ----------
    adata
        Microbiome container in any units.

    Returns
    -------
    anndata.AnnData
        New container with ``uns["units"] = "proportion"``; every row sums to one.
    """
    _check_microbiome(adata)
    X = np.asarray(adata.X, dtype=np.float64)
    totals = X.sum(axis=1)
    empty = totals <= 0
    new = adata[~empty].copy() if empty.any() else adata.copy()
    if empty.any():
        warnings.warn(
            f"total_sum_scale: dropped {int(empty.sum())} sample(s) with total abundance 0: "
            f"{', '.join(map(str, adata.obs_names[empty][:5]))}"
            + (" ..." if empty.sum() > 5 else ""),
            UserWarning,
            stacklevel=2,
        )
    new.X = X[~empty] / totals[~empty, None]
    new.uns["units"] = "proportion"
    record_step(
        new,
        "total_sum_scale",
        units_before=str(adata.uns.get("units", "unknown")),
        dropped_samples=[str(s) for s in adata.obs_names[empty]],
    )
    return new


def clr(adata: ad.AnnData, *, pseudocount: float | None = None, layer: str = "clr") -> ad.AnnData:
    """Centred log-ratio transform, stored as a layer.

    ``X`` keeps the composition so that the result stays a valid microbiome container
    (its units are one of :data:`synthomics.container.UNITS`); the transformed values go
    to ``layers[layer]``, the way scverse tools keep a transform beside the counts.

    Parameters
    ----------
    adata
        Microbiome container.
    pseudocount
        ``None`` for multiplicative replacement of zeros (default), or a positive
        number added to every value; see :func:`clr_transform`.
    layer
        Name of the layer that receives the transform.

    Returns
    -------
    anndata.AnnData
        New container with ``layers[layer]``.
    """
    _check_microbiome(adata)
    values = clr_transform(np.asarray(adata.X, dtype=np.float64), pseudocount)
    new = adata.copy()
    new.layers[layer] = values
    record_step(
        new,
        "clr",
        layer=layer,
        zeros="multiplicative_replacement" if pseudocount is None else "pseudocount",
        pseudocount=float(pseudocount) if pseudocount is not None else 0.0,
    )
    return new


def rarefy(adata: ad.AnnData, depth: int, seed: int | np.random.Generator = 0) -> ad.AnnData:
    """Subsample every sample's reads without replacement to ``depth`` reads.

    Each sample is subsampled with :func:`skbio.stats.subsample_counts`
    (``replace=False``), all from one generator seeded by ``seed``, in sample order.
    Samples with fewer than ``depth`` reads are dropped with a warning (as QIIME's
    ``feature-table rarefy`` does) and listed in the record. Features that become zero
    everywhere are kept, so the feature set does not depend on the draw.

    Parameters
    ----------
    adata
        Microbiome container with ``uns["units"] = "counts"`` and integer values.
    depth
        Reads per sample after rarefaction; a positive integer.
    seed
        Seed or generator for the subsampling.

    Returns
    -------
    anndata.AnnData
        New container; every row sums to ``depth``.
    """
    from skbio.stats import subsample_counts

    _check_microbiome(adata)
    source = adata.uns.get("source_file")
    units = adata.uns.get("units")
    if units != "counts":
        raise InputError(
            source, f"cannot rarefy a table in units {units!r}", expected="read counts"
        )
    if isinstance(depth, bool) or int(depth) != depth or depth < 1:
        raise InputError(source, f"rarefaction depth {depth!r}", expected="a positive integer")
    depth = int(depth)
    X = np.asarray(adata.X, dtype=np.float64)
    if (X < 0).any() or not np.array_equal(X, np.round(X)):
        raise InputError(source, "non-integer or negative counts", expected="integer read counts")
    counts = X.astype(np.int64)
    totals = counts.sum(axis=1)
    keep = totals >= depth
    dropped = [str(s) for s in adata.obs_names[~keep]]
    if dropped:
        warnings.warn(
            f"rarefy: dropped {len(dropped)} sample(s) with fewer than {depth} reads: "
            f"{', '.join(dropped[:5])}" + (" ..." if len(dropped) > 5 else ""),
            UserWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    rows = [subsample_counts(row, depth, replace=False, seed=rng) for row in counts[keep]]
    new = adata[keep].copy()
    new.X = np.asarray(rows, dtype=np.float64).reshape(int(keep.sum()), adata.n_vars)
    record_step(
        new,
        "rarefy",
        depth=depth,
        seed=int(seed) if isinstance(seed, int | np.integer) else -1,
        dropped_samples=dropped,
    )
    return new


def _check_fraction(value: float, name: str, source: str | None) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(source, f"{name} = {value!r}", expected="a number between 0 and 1")
    return float(value)


def filter_prevalence(adata: ad.AnnData, min_prevalence: float) -> ad.AnnData:
    """Keep features present (non-zero) in at least ``min_prevalence`` of the samples.

    Parameters
    ----------
    adata
        Microbiome container.
    min_prevalence
        Fraction of samples in [0, 1]; a feature is kept when
        ``prevalence >= min_prevalence``.

    Returns
    -------
    anndata.AnnData
        New container with the kept features, in their input order.
    """
    _check_microbiome(adata)
    threshold = _check_fraction(min_prevalence, "min_prevalence", adata.uns.get("source_file"))
    mask = prevalence(np.asarray(adata.X)) >= threshold
    return _subset_features(adata, mask, "filter_prevalence", min_prevalence=threshold)


def filter_abundance(adata: ad.AnnData, min_mean_relative_abundance: float) -> ad.AnnData:
    """Keep features whose mean relative abundance is at least the threshold.

    Relative abundance is each feature's share of its sample's total in ``adata`` (see
    :func:`mean_relative_abundance`), so the threshold reads the same for counts,
    proportions and percent.

    Parameters
    ----------
    adata
        Microbiome container.
    min_mean_relative_abundance
        Threshold in [0, 1], e.g. ``1e-5``.

    Returns
    -------
    anndata.AnnData
        New container with the kept features, in their input order.
    """
    _check_microbiome(adata)
    threshold = _check_fraction(
        min_mean_relative_abundance, "min_mean_relative_abundance", adata.uns.get("source_file")
    )
    mask = mean_relative_abundance(np.asarray(adata.X)) >= threshold
    return _subset_features(adata, mask, "filter_abundance", min_mean_relative_abundance=threshold)


def _rank_by_prevalence(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Feature positions, most prevalent first; ties by mean relative abundance, then name."""
    prev = prevalence(X)
    mean = mean_relative_abundance(X)
    # np.lexsort sorts by the last key first
    return np.lexsort((np.asarray(names, dtype=object).astype(str), -mean, -prev))


def _top_k_mask(X: np.ndarray, names: Sequence[str], k: int, candidates: np.ndarray) -> np.ndarray:
    order = [i for i in _rank_by_prevalence(X, names) if candidates[i]]
    mask = np.zeros(X.shape[1], dtype=bool)
    mask[order[:k]] = True
    return mask


def _check_k(k: int, source: str | None) -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise InputError(source, f"k = {k!r}", expected="a positive integer")
    return int(k)


def top_k_prevalent(adata: ad.AnnData, k: int) -> ad.AnnData:
    """Keep the ``k`` most prevalent features.

    Ties in prevalence are broken by higher mean relative abundance, then by feature id
    in lexicographic order, so the choice is deterministic.

    Parameters
    ----------
    adata
        Microbiome container.
    k
        Number of features to keep; all are kept when ``k >= n_vars``.

    Returns
    -------
    anndata.AnnData
        New container with the kept features, in their input order (not ranked order).
    """
    _check_microbiome(adata)
    k = _check_k(k, adata.uns.get("source_file"))
    X = np.asarray(adata.X)
    mask = _top_k_mask(X, list(adata.var_names), k, np.ones(adata.n_vars, dtype=bool))
    return _subset_features(adata, mask, "top_k_prevalent", k=k)


def preprint_protocol(
    adata: ad.AnnData,
    min_prevalence: float = 0.01,
    min_mean_abundance: float = 1e-5,
    k: int = 500,
) -> ad.AnnData:
    """The feature selection of the synthomics preprint.

    Keeps features with prevalence ``>= min_prevalence`` (1 % of samples) and mean
    relative abundance ``>= min_mean_abundance`` (1e-5), then the ``k`` (500) most
    prevalent of those, ties broken by mean relative abundance then feature id.

    All three criteria are computed once on the input table (relative abundance as a
    share of each sample's total before any feature is removed), so the result does not
    depend on the order of the steps. Chaining :func:`filter_prevalence`,
    :func:`filter_abundance` and :func:`top_k_prevalent` can differ slightly, because each
    of those recomputes the sample totals on the features left by the previous one.

    Parameters
    ----------
    adata
        Microbiome container.
    min_prevalence
        Minimum fraction of samples in which a feature is non-zero.
    min_mean_abundance
        Minimum mean relative abundance.
    k
        Number of features kept at most.

    Returns
    -------
    anndata.AnnData
        New container with the kept features in input order and the tree pruned; one
        record ``"preprint_protocol"`` with the counts after each criterion.
    """
    _check_microbiome(adata)
    source = adata.uns.get("source_file")
    p = _check_fraction(min_prevalence, "min_prevalence", source)
    a = _check_fraction(min_mean_abundance, "min_mean_abundance", source)
    k = _check_k(k, source)
    X = np.asarray(adata.X)
    passes_prevalence = prevalence(X) >= p
    passes_both = passes_prevalence & (mean_relative_abundance(X) >= a)
    mask = _top_k_mask(X, list(adata.var_names), k, passes_both)
    return _subset_features(
        adata,
        mask,
        "preprint_protocol",
        min_prevalence=p,
        min_mean_abundance=a,
        k=k,
        n_after_prevalence=int(passes_prevalence.sum()),
        n_after_abundance=int(passes_both.sum()),
    )
