"""Readers and writers: every file enters and leaves synthomics here.

:func:`read` detects the format from the file name (and, for feature tables, the
content) and returns an :class:`anndata.AnnData` following
:mod:`synthomics.container`. :func:`write` chooses the writer from the extension.
Formats are listed in :data:`FORMATS`; each names the function that reads it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad

from synthomics.errors import InputError, UnknownFormatError


@dataclass(frozen=True)
class Format:
    """One file format: its name, kind of data, extensions and reader/writer functions.

    ``reader`` and ``writer`` are ``"module:function"`` strings, imported on first use
    so that ``import synthomics.io`` stays fast.
    """

    name: str
    omics: str
    extensions: tuple[str, ...]
    reader: str | None
    writer: str | None
    description: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "biom",
            "microbiome",
            (".biom", ".biom.gz", ".biom.json", ".biom.json.gz"),
            "synthomics.io.biom:read_biom",
            "synthomics.io.biom:write_biom",
            "BIOM 1.0 JSON or 2.x HDF5 feature table",
        ),
        Format(
            "table",
            "microbiome",
            tuple(
                f"{e}{z}"
                for e in (".tsv", ".csv", ".txt", ".tab")
                for z in ("", ".gz", ".bz2", ".xz")
            ),
            "synthomics.io.table:read_table",
            "synthomics.io.table:write_table",
            "TSV/CSV feature table, samples as rows or columns (QIIME exports too)",
        ),
        Format(
            "metaphlan",
            "microbiome",
            (),
            "synthomics.io.metaphlan:read_metaphlan",
            None,
            "MetaPhlAn merged abundance table (k__...|s__... lineages, percent)",
        ),
        Format(
            "qiime2",
            "microbiome",
            (".qza",),
            "synthomics.io.qiime:read_qza_table",
            None,
            "QIIME 2 artifact: FeatureTable[Frequency] or [RelativeFrequency] (.qza)",
        ),
        Format(
            "h5ad",
            "any",
            (".h5ad",),
            "synthomics.io.h5ad:read_h5ad",
            "synthomics.io.h5ad:write_h5ad",
            "AnnData HDF5 (.h5ad) written by synthomics",
        ),
        Format(
            "vcf",
            "genotype",
            (".vcf", ".vcf.gz", ".vcf.bgz"),
            "synthomics.io.vcf:read_vcf",
            "synthomics.io.vcf:write_vcf",
            "VCF 4.x with biallelic SNPs",
        ),
        Format(
            "plink",
            "genotype",
            (".bed", ".bim", ".fam"),
            "synthomics.io.plink:read_plink",
            "synthomics.io.plink:write_plink",
            "PLINK 1 binary .bed/.bim/.fam (give any of the three or the prefix)",
        ),
        Format(
            "hapt",
            "genotype",
            (".hapt", ".hapt.gz"),
            "synthomics.io.hapt:read_hapt",
            "synthomics.io.hapt:write_hapt",
            "haplotype rows 'label id a1 a2 ...' (Yelmen et al. 2021)",
        ),
        Format(
            "genotype-matrix",
            "genotype",
            (".012", ".geno", ".geno.gz"),
            "synthomics.io.genotype_matrix:read_genotype_matrix",
            "synthomics.io.genotype_matrix:write_genotype_matrix",
            "plain 0/1/2 matrix (vcftools --012 layout, or a TSV with --format)",
        ),
    )
}


def _load(spec: str) -> Callable[..., Any]:
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def _matches(path: Path, fmt: Format) -> bool:
    name = path.name.lower()
    return any(name.endswith(ext) for ext in fmt.extensions)


def detect_format(path: str | os.PathLike[str], *, for_writing: bool = False) -> str:
    """Name of the format of ``path``, from its extension and, for feature tables, content.

    For a feature table (BIOM, TSV/CSV, MetaPhlAn names) the content decides
    (:func:`content_kind`): HDF5 or JSON is BIOM, text is a delimited table, so that a
    tab-separated table named ``.biom`` (gzipped or not) is read as the table it is. Text
    tables whose feature names are MetaPhlAn lineages (``k__...|...``) are reported as
    ``"metaphlan"``.

    Raises
    ------
    UnknownFormatError
        If the extension matches no format in :data:`FORMATS`.
    """
    path = Path(path)
    # longest extension wins (".biom.json.gz" before ".gz"-less forms)
    candidates = sorted(
        (f for f in FORMATS.values() if _matches(path, f)),
        key=lambda f: -max(len(e) for e in f.extensions),
    )
    if not candidates:
        if not for_writing and path.with_suffix(".bed").exists() and path.suffix == "":
            return "plink"
        known = ", ".join(sorted({e for f in FORMATS.values() for e in f.extensions}))
        raise UnknownFormatError(
            path,
            "cannot tell the file format from the name",
            expected=f"one of the extensions {known}, or an explicit format",
        )
    name = candidates[0].name
    if name in _TABLE_FORMATS and not for_writing and path.is_file():
        # the content decides between BIOM and a text table, whatever the name says
        kind = content_kind(path)
        if kind in ("hdf5", "json"):
            return "biom"
        if kind == "text":
            from synthomics.io.table import sniff_metaphlan

            return "metaphlan" if sniff_metaphlan(path) else "table"
    return name


_TABLE_FORMATS = ("biom", "table", "metaphlan")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def content_kind(path: str | os.PathLike[str]) -> str:
    """What the first bytes of a file hold, after gzip/bzip2/xz decompression.

    ``"hdf5"`` (BIOM 2.x, ``.h5ad``), ``"json"`` (BIOM 1.0: the first character is ``{``),
    ``"text"`` (UTF-8 text without NUL bytes: a delimited table) or ``"binary"``; ``"empty"``
    for an empty file. Files that cannot be read give ``"binary"``.
    """
    import bz2
    import gzip
    import lzma

    from synthomics.io.delimited import compression_of

    openers = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
    try:
        compression = compression_of(path)
        opener = openers.get(compression or "", open)
        with opener(path, "rb") as handle:
            head = handle.read(4096)
    except (OSError, EOFError, lzma.LZMAError):
        return "binary"
    if not head:
        return "empty"
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    if b"\x00" in head:
        return "binary"
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    return "json" if text.startswith("{") else "text"


def read(path: str | os.PathLike[str], format: str | None = None, **options: Any) -> ad.AnnData:
    """Read any supported file into an AnnData container.

    Parameters
    ----------
    path
        The file (for PLINK, any of .bed/.bim/.fam or their common prefix).
    format
        Force a format from :data:`FORMATS` instead of detecting it.
    **options
        Passed to the format's reader (see each reader's documentation).

    Returns
    -------
    anndata.AnnData
        Following :mod:`synthomics.container`.
    """
    path = Path(path)
    fmt = format or detect_format(path)
    if fmt not in FORMATS or FORMATS[fmt].reader is None:
        raise UnknownFormatError(
            path,
            f"no reader for format {fmt!r}",
            expected=f"one of {sorted(k for k, f in FORMATS.items() if f.reader)}",
        )
    if fmt != "plink" and not path.exists():
        raise InputError(path, "file not found", expected="an existing file")
    return _load(FORMATS[fmt].reader)(path, **options)


def write(
    adata: ad.AnnData, path: str | os.PathLike[str], format: str | None = None, **options: Any
) -> Path:
    """Write ``adata`` to ``path`` atomically, choosing the writer from the extension.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    path = Path(path)
    fmt = format or detect_format(path, for_writing=True)
    if fmt not in FORMATS or FORMATS[fmt].writer is None:
        raise UnknownFormatError(
            path,
            f"no writer for format {fmt!r}",
            expected=f"one of {sorted(k for k, f in FORMATS.items() if f.writer)}",
        )
    _load(FORMATS[fmt].writer)(adata, path, **options)
    return path


__all__ = ["FORMATS", "Format", "content_kind", "detect_format", "read", "write"]

# after FORMATS and detect_format, which the dispatch reads
from synthomics.io.dispatch import input_format, read_input  # noqa: E402

__all__ += ["input_format", "read_input"]
