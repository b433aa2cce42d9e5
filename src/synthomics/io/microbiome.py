"""One call to read a microbiome table with its sample metadata, taxonomy and tree.

:func:`read_microbiome` reads the table with :func:`synthomics.io.read` (format detected
from the name and content: BIOM, TSV/CSV, MetaPhlAn merged table, ``.h5ad``, QIIME 2
``.qza``) and joins, in this order: a taxonomy table (replacing taxonomy found in the
table), a sample metadata table (by sample id), and a Newick tree (matched by the tip-name rule of
:mod:`synthomics.io.tree`; without one, a tree is built from the rank columns).

Every microbiome reader ends with :func:`finish_microbiome`, so the same options behave the
same whichever format the table came in.
"""

from __future__ import annotations

import os
from typing import Any

import anndata as ad
import pandas as pd

from synthomics.errors import InputError


def finish_microbiome(
    adata: ad.AnnData,
    *,
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    metadata_source: str | None = None,
    taxonomy: pd.DataFrame | str | os.PathLike[str] | None = None,
    tree: Any = None,
    taxonomy_tree: bool = True,
) -> ad.AnnData:
    """Join taxonomy, metadata and tree onto a freshly read container, in place.

    Parameters
    ----------
    adata
        Microbiome container.
    metadata
        Sample metadata file or frame (:func:`~synthomics.io.metadata.join_sample_metadata`).
    metadata_source
        Name of the metadata file when ``metadata`` is a frame read from it.
    taxonomy
        Taxonomy table file or frame (:func:`~synthomics.io.taxonomy.join_taxonomy`).
    tree
        Newick file, ``Phylogeny[Rooted]`` artifact or :class:`skbio.TreeNode`
        (:func:`~synthomics.io.tree.attach_tree`).
    taxonomy_tree
        Without ``tree``, build one from the rank columns when ``adata`` has no tree yet.

    Returns
    -------
    anndata.AnnData
        ``adata`` itself.
    """
    from synthomics.io.metadata import join_sample_metadata
    from synthomics.io.qiime import record_side_artifacts
    from synthomics.io.taxonomy import join_taxonomy
    from synthomics.io.tree import attach_taxonomy_tree, attach_tree

    if taxonomy is not None:
        join_taxonomy(adata, taxonomy)
    if metadata is not None:
        join_sample_metadata(adata, metadata, source=metadata_source)
    if tree is not None:
        attach_tree(adata, tree)
    elif taxonomy_tree and "tree" not in adata.uns:
        attach_taxonomy_tree(adata)
    record_side_artifacts(adata, tree=tree, taxonomy=taxonomy)
    return adata


def read_microbiome(
    path: str | os.PathLike[str],
    *,
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    tree: Any = None,
    taxonomy: pd.DataFrame | str | os.PathLike[str] | None = None,
    format: str | None = None,
    **options: Any,
) -> ad.AnnData:
    """Read a microbiome table and join its sample metadata, taxonomy and tree.

    Parameters
    ----------
    path
        The table: ``.biom`` (JSON or HDF5), ``.tsv``/``.csv``/``.txt`` (generic or
        MetaPhlAn, compressed or not), ``.h5ad``, a QIIME 2 ``FeatureTable`` artifact
        (``.qza``).
    metadata
        Sample metadata TSV/CSV (or frame), joined on sample id.
    tree
        Newick tree file or ``Phylogeny[Rooted]`` artifact (or :class:`skbio.TreeNode`).
    taxonomy
        Feature taxonomy table (rank columns or taxonomy strings) or
        ``FeatureData[Taxonomy]`` artifact.
    format
        Force a format of :data:`synthomics.io.FORMATS` (``"biom"``, ``"table"``,
        ``"metaphlan"``, ``"h5ad"``, ``"qiime2"``).
    **options
        Passed to the reader: ``orientation``, ``units``, ``sum_rule``, ``sum_tolerance``,
        ``all_zero``, ``rank`` (MetaPhlAn), ``taxonomy_tree``...

    Returns
    -------
    anndata.AnnData
        Microbiome container (:mod:`synthomics.container`).

    Raises
    ------
    InputError
        For bad input (see each reader) or when the file holds genotypes.
    """
    from synthomics.io import FORMATS, detect_format, read

    fmt = format or detect_format(path)
    if fmt in FORMATS and FORMATS[fmt].omics == "genotype":
        raise InputError(path, f"{fmt} files hold genotypes", expected="a microbiome table")
    adata = read(path, format=fmt, metadata=metadata, tree=tree, taxonomy=taxonomy, **options)
    if adata.uns.get("omics") != "microbiome":
        raise InputError(
            path, f"holds {adata.uns.get('omics')!r} data", expected="a microbiome table"
        )
    return adata


__all__ = ["finish_microbiome", "read_microbiome"]
