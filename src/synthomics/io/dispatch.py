"""Which reader for which file: the format and omics of an input, and reading it with its
side files (metadata, tree, taxonomy).

:func:`input_format` names the format (:data:`synthomics.io.FORMATS`) and the omics of a
file; :func:`read_input` reads it through :func:`~synthomics.io.microbiome.read_microbiome`
or :func:`~synthomics.io.genotype.read_genotypes`. Every command reads its data here.

>>> from synthomics.io import read_input  # doctest: +SKIP
>>> adata, fmt = read_input("table.biom", metadata="samples.tsv")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anndata as ad

from synthomics.errors import InputError, UnknownFormatError
from synthomics.io import FORMATS, detect_format

__all__ = ["h5ad_omics", "input_format", "read_input"]


def input_format(path: str | os.PathLike[str], format: str | None = None) -> tuple[str, str]:
    """Format name and omics (``"microbiome"``/``"genotype"``) of an input file.

    The omics comes from the format registry (:data:`synthomics.io.FORMATS`); for ``.h5ad``
    files, which hold either, it is read from the file's ``uns["omics"]``.

    Raises
    ------
    InputError
        On an unknown format or a missing file.
    """
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise UnknownFormatError(
            path, f"unknown format {fmt!r}", expected=f"one of {sorted(FORMATS)}"
        )
    omics = FORMATS[fmt].omics
    if omics == "any":
        if not Path(path).exists():
            raise InputError(path, "file not found", expected="an existing file")
        omics = h5ad_omics(path) or "microbiome"  # the reader explains what is missing
    return fmt, omics


def h5ad_omics(path: str | os.PathLike[str]) -> str | None:
    """``uns["omics"]`` of an ``.h5ad`` file, read without loading the data (None when
    absent or unreadable)."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            value = handle["uns/omics"][()] if "uns/omics" in handle else None
    except OSError:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    return str(value) if value in ("microbiome", "genotype", b"microbiome", b"genotype") else None


def read_input(
    path: str | os.PathLike[str],
    *,
    metadata: str | os.PathLike[str] | None = None,
    tree: str | os.PathLike[str] | None = None,
    taxonomy: str | os.PathLike[str] | None = None,
    format: str | None = None,
    rank: str | None = None,
    label_column: str | None = None,
    orientation: str = "auto",
) -> tuple[ad.AnnData, str]:
    """Read a microbiome or genotype file with its side files: the one entry of the commands.

    Microbiome files go through :func:`~synthomics.io.microbiome.read_microbiome`, genotype
    files through :func:`~synthomics.io.genotype.read_genotypes`.

    Parameters
    ----------
    path
        The input file.
    metadata
        Sample metadata table joined on sample id.
    tree
        Newick tree (microbiome only).
    taxonomy
        Feature taxonomy table (microbiome only).
    format
        Force a format of :data:`synthomics.io.FORMATS`.
    rank
        Rank kept from a MetaPhlAn table (``species`` by default; MetaPhlAn only).
    label_column
        Column holding class labels (genotype only).
    orientation
        Whether samples are the rows or the columns of a text table
        (:func:`~synthomics.io.table.read_table`); ``"auto"`` tells it from the content.

    Returns
    -------
    (anndata.AnnData, str)
        The container and the name of the format read.
    """
    fmt, omics = input_format(path, format)
    if omics == "genotype":
        from synthomics.io.genotype import read_genotypes

        forbidden = (("--tree", tree), ("--taxonomy", taxonomy), ("--rank", rank))
        if orientation != "auto":
            forbidden += (("--orientation", orientation),)
        for option, value in forbidden:
            if value is not None:
                raise InputError(
                    path,
                    f"{option} applies to microbiome tables",
                    expected=f"no {option} for a genotype file",
                )
        adata = read_genotypes(path, metadata=metadata, label_column=label_column, format=fmt)
        return adata, fmt
    from synthomics.io.microbiome import read_microbiome

    if label_column is not None:
        raise InputError(
            path,
            "--label-column applies to genotype files",
            expected="no --label-column for a microbiome table",
        )
    options: dict[str, Any] = {}
    if rank is not None:
        if fmt != "metaphlan":
            raise InputError(
                path,
                f"--rank applies to MetaPhlAn tables, not {fmt!r} files",
                expected="a MetaPhlAn merged table, or no --rank",
            )
        options["rank"] = rank
    if orientation != "auto":
        if fmt not in ("table", "metaphlan"):
            raise InputError(
                path,
                f"--orientation applies to text tables, not {fmt!r} files",
                expected="a TSV/CSV or MetaPhlAn table, or no --orientation",
            )
        options["orientation"] = orientation
    adata = read_microbiome(
        path, metadata=metadata, tree=tree, taxonomy=taxonomy, format=fmt, **options
    )
    return adata, fmt
