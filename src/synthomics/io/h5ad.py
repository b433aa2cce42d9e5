"""AnnData ``.h5ad`` files: the container written and read as it is.

``.h5ad`` keeps everything a container holds (``obs``, ``var``, ``uns`` with the tree and
reports), so it is the lossless format. Microbiome containers are checked again on reading
(:func:`~synthomics.io.validate.validate_abundance` with the stored units and the
``"at-most"`` sum rule: they were checked in full when first read from their source, and
MetaPhlAn tables legitimately sum below 100). Genotype containers are returned as stored.

Before writing, ``obs``/``var`` columns mixing numbers and text are turned into text and
categories into plain columns, which HDF5 can store; anndata stores text columns as
categoricals, so they read back as categoricals with the same values. A microbiome ``X``
that is at least half zeros is stored as a sparse CSR matrix (the same values; smaller and
faster) and read back dense, as :mod:`synthomics.container` requires.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path
from synthomics.io.validate import (
    DEFAULT_SUM_TOLERANCE,
    AllZeroPolicy,
    SumRule,
    check_options,
    validate_abundance,
)


def read_h5ad(
    path: str | os.PathLike[str],
    *,
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    tree: Any = None,
    taxonomy: pd.DataFrame | str | os.PathLike[str] | None = None,
    omics: str | None = None,
    units: str | None = None,
    sum_rule: SumRule = "at-most",
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    all_zero: AllZeroPolicy = "drop",
    taxonomy_tree: bool = True,
) -> ad.AnnData:
    """Read an ``.h5ad`` file written by synthomics (or any AnnData, with ``omics``).

    Parameters
    ----------
    path
        The ``.h5ad`` file.
    metadata, tree, taxonomy, taxonomy_tree
        For microbiome data, joined as by
        :func:`~synthomics.io.microbiome.finish_microbiome`.
    omics
        ``"microbiome"`` or ``"genotype"`` for files without ``uns["omics"]``.
    units
        Units of a microbiome file without ``uns["units"]`` (``"auto"`` to detect).
    sum_rule, sum_tolerance, all_zero
        See :func:`~synthomics.io.validate.validate_abundance`.

    Returns
    -------
    anndata.AnnData

    Raises
    ------
    InputError
        Missing or unreadable file, unknown omics, or microbiome data failing validation.
    """
    from synthomics.io.microbiome import finish_microbiome

    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", expected="an existing file")
    try:
        adata = ad.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many kinds
        raise InputError(
            path,
            f"not a readable .h5ad file ({exc.__class__.__name__}: {exc})",
            expected="an AnnData HDF5 file",
        ) from exc
    kind = adata.uns.get("omics", omics)
    if omics is not None:
        kind = omics
    if kind not in ("microbiome", "genotype"):
        raise InputError(
            path,
            f"uns['omics'] is {kind!r}",
            expected="'microbiome' or 'genotype' (pass omics= for AnnData "
            "files not written by synthomics)",
        )
    adata.uns["omics"] = kind
    if kind == "genotype":
        return adata
    stored_units = units or adata.uns.get("units") or "auto"
    check_options(
        units=stored_units,
        sum_rule=sum_rule,
        all_zero=all_zero,
        sum_tolerance=sum_tolerance,
        source=path,
    )
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    checked = validate_abundance(
        X,
        list(adata.obs_names),
        list(adata.var_names),
        source=path,
        units=stored_units,
        sum_rule=sum_rule,
        sum_tolerance=sum_tolerance,
        all_zero=all_zero,
    )
    if checked.dropped:
        adata = adata[checked.kept].copy()
        adata.uns["dropped_all_zero_samples"] = list(checked.dropped)
    adata.X = np.asarray(checked.X, dtype=np.float64)
    adata.uns["units"] = checked.units
    adata.uns["source_file"] = str(path)
    return finish_microbiome(
        adata, metadata=metadata, taxonomy=taxonomy, tree=tree, taxonomy_tree=taxonomy_tree
    )


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    from synthomics.io.metadata import tidy_column

    return pd.DataFrame({c: tidy_column(frame[c]) for c in frame.columns}, index=frame.index)


def write_h5ad(
    adata: ad.AnnData, path: str | os.PathLike[str], *, compression: str | None = "gzip"
) -> Path:
    """Write ``adata`` to ``.h5ad`` atomically (``adata`` itself is not modified).

    Parameters
    ----------
    adata
        Any synthomics container.
    path
        Output file.
    compression
        HDF5 compression of the arrays (``"gzip"``, ``"lzf"`` or ``None``).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    X = adata.X
    sparse_enough = isinstance(X, np.ndarray) and np.count_nonzero(X) <= 0.5 * X.size
    if adata.uns.get("omics") == "microbiome" and X.size and sparse_enough:
        X = sparse.csr_matrix(X)  # same values; HMP's 5452 x 5430 is 1.2% non-zero
    out = ad.AnnData(
        X=X,
        obs=_storable(adata.obs),
        var=_storable(adata.var),
        uns=_storable_uns(adata.uns),
        obsm=dict(adata.obsm),
        varm=dict(adata.varm),
        layers=dict(adata.layers),
    )
    with atomic_path(path, suffix=".h5ad") as tmp:
        out.write_h5ad(tmp, compression=compression)
    return path


def _storable_uns(uns: Any) -> dict[str, Any]:
    """A copy of ``uns`` that HDF5 can store: lists holding dicts become JSON text.

    anndata cannot write a list of dicts (the ``uns["preprocessing"]`` record is one);
    :func:`synthomics.preprocessing.history.preprocessing_history` reads the JSON back.
    """
    out: dict[str, Any] = {}
    for key, value in uns.items():
        if isinstance(value, dict):
            out[key] = _storable_uns(value)
        elif isinstance(value, list | tuple) and any(isinstance(v, dict) for v in value):
            out[key] = json.dumps(list(value), default=str)
        else:
            out[key] = value
    return out


__all__ = ["read_h5ad", "write_h5ad"]
