"""Read any genotype file and join a sample metadata table to it.

:func:`read_genotypes` is what the command line calls: it reads VCF, PLINK, ``.hapt`` or
0/1/2 matrices through :func:`synthomics.io.read` and joins labels (population, region, ...)
from a TSV whose first column holds the sample ids. Every genotype reader also accepts
``samples_metadata=`` and ``label_column=`` and uses :func:`join_sample_metadata`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.errors import InputError

__all__ = ["apply_labels", "join_sample_metadata", "read_genotypes", "read_sample_metadata"]

_STRUCTURAL = ("individual", "haplotype")


def read_sample_metadata(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a sample metadata table: first column = sample id, then one column per label.

    Tab-separated, or comma-separated when the name ends in ``.csv``; the first row names
    the columns. Ids are read as text (``"001"`` stays ``"001"``).

    Raises
    ------
    InputError
        If the file is missing, empty, or repeats a sample id.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", expected="a sample metadata table")
    sep = "," if path.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    try:
        header = pd.read_csv(path, sep=sep, nrows=0)
    except pd.errors.EmptyDataError as exc:
        raise InputError(path, "empty file", expected="a header row naming the columns") from exc
    if header.shape[1] < 1:
        raise InputError(path, "no columns", expected="sample ids in the first column")
    id_column = header.columns[0]
    table = pd.read_csv(path, sep=sep, dtype={id_column: str}, keep_default_na=True)
    table = table.set_index(id_column)
    table.index = table.index.astype(str)
    duplicated = table.index[table.index.duplicated()]
    if len(duplicated):
        line = int(np.flatnonzero(table.index == duplicated[0])[1]) + 2  # header is line 1
        raise InputError(
            path,
            f"sample id {duplicated[0]!r} appears more than once",
            where=f"line {line}",
            expected="one row per sample",
        )
    table.index.name = None
    return table


def join_sample_metadata(
    adata: ad.AnnData,
    metadata: str | os.PathLike[str] | pd.DataFrame,
    *,
    label_column: str | None = None,
) -> ad.AnnData:
    """Join per-sample metadata into ``adata.obs``, in place, and return ``adata``.

    Rows are matched on the obs index (dosage layout) or on ``obs["individual"]``
    (haplotype layout, so both haplotypes of an individual get its labels). Metadata columns
    replace obs columns of the same name, except the structural ``individual`` and
    ``haplotype``. Individuals without a metadata row get NaN and are reported in a
    :class:`UserWarning`.

    Parameters
    ----------
    adata
        A genotype container.
    metadata
        Path of a table read with :func:`read_sample_metadata`, or a frame indexed by
        sample id.
    label_column
        Column holding the class labels used by conditional generators; it must exist after
        the join and is recorded in ``uns["label_column"]``.

    Returns
    -------
    anndata.AnnData
        ``adata`` itself, with the joined columns.
    """
    source = None
    if not isinstance(metadata, pd.DataFrame):
        source = str(metadata)
        metadata = read_sample_metadata(metadata)
    metadata = metadata.set_axis(metadata.index.astype(str))
    clash = [c for c in _STRUCTURAL if c in metadata.columns]
    if clash:
        raise InputError(
            source,
            f"metadata column {clash[0]!r} is reserved for the haplotype layout",
            expected="another column name",
        )
    if adata.uns.get("layout") == "haplotype" and "individual" in adata.obs.columns:
        keys = adata.obs["individual"].astype(str)
    else:
        keys = pd.Series(adata.obs_names, index=adata.obs_names)
    individuals = pd.unique(keys.to_numpy())
    absent = [i for i in individuals if i not in metadata.index]
    if absent:
        shown = ", ".join(repr(i) for i in absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        warnings.warn(
            f"{len(absent)} of {len(individuals)} individuals have no row in the sample "
            f"metadata{f' {source}' if source else ''}: {shown}{more}",
            UserWarning,
            stacklevel=2,
        )
    joined = metadata.reindex(keys.to_numpy())
    joined.index = adata.obs_names
    for column in joined.columns:
        adata.obs[column] = joined[column].to_numpy()
    if label_column is not None:
        if label_column not in adata.obs.columns:
            raise InputError(
                source,
                f"no column {label_column!r} for the labels",
                expected=f"one of {list(adata.obs.columns)}",
            )
        adata.uns["label_column"] = label_column
    if source is not None:
        adata.uns["metadata_file"] = source
    return adata


def apply_labels(
    adata: ad.AnnData,
    samples_metadata: str | os.PathLike[str] | pd.DataFrame | None,
    label_column: str | None,
) -> ad.AnnData:
    """Join ``samples_metadata`` (if given) and record ``label_column`` (if given).

    The common tail of every genotype reader; ``label_column`` may also name a column
    the file itself provides (``.hapt`` labels, PLINK phenotypes).
    """
    if samples_metadata is not None:
        return join_sample_metadata(adata, samples_metadata, label_column=label_column)
    if label_column is not None:
        if label_column not in adata.obs.columns:
            raise InputError(
                adata.uns.get("source_file"),
                f"no column {label_column!r} for the labels",
                expected=f"one of {list(adata.obs.columns)} or a sample metadata table",
            )
        adata.uns["label_column"] = label_column
    return adata


def read_genotypes(
    path: str | os.PathLike[str],
    *,
    metadata: str | os.PathLike[str] | pd.DataFrame | None = None,
    label_column: str | None = None,
    format: str | None = None,
    **options: Any,
) -> ad.AnnData:
    """Read a genotype file of any supported format and join sample metadata.

    Parameters
    ----------
    path
        VCF(.gz), PLINK (any of .bed/.bim/.fam or the prefix), ``.hapt``, ``.012`` or
        a 0/1/2 matrix (with ``format="genotype-matrix"``).
    metadata
        Optional sample metadata table (first column = sample id) or frame.
    label_column
        Column (of the metadata or of the file's own labels, such as ``.hapt``'s ``label``)
        holding class labels; recorded in ``uns["label_column"]``.
    format
        Force a format name from :data:`synthomics.io.FORMATS`.
    **options
        Passed to the format's reader (``layout=`` for VCF, ``multiallelic=``, ...).

    Returns
    -------
    anndata.AnnData
        A genotype container (see :mod:`synthomics.container`).

    Raises
    ------
    InputError
        If the file is not a genotype format, or any reader or join error.
    """
    from synthomics.io import FORMATS, detect_format, read

    name = format or detect_format(path)
    if name in FORMATS and FORMATS[name].omics == "microbiome":
        raise InputError(
            path,
            f"format {name!r} holds microbiome tables, not genotypes",
            expected="VCF, PLINK, .hapt, .012 or format='genotype-matrix'",
        )
    adata = read(path, format=name, **options)
    if adata.uns.get("omics") != "genotype":
        raise InputError(path, "the file does not hold genotypes", expected="a genotype file")
    return apply_labels(adata, metadata, label_column)
