"""``synthomics info``: what a microbiome table or genotype file holds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help

if TYPE_CHECKING:
    import anndata as ad

FORMAT_NAMES = "biom, table, metaphlan, qiime2, h5ad, vcf, plink, hapt, genotype-matrix"
"""Format names listed in the help (those of :data:`synthomics.io.FORMATS`)."""

MetadataOption = Annotated[
    Path | None,
    typer.Option(
        "--metadata", "-m", help="Sample metadata table (TSV/CSV, first column = sample id)."
    ),
]
TreeOption = Annotated[
    Path | None,
    typer.Option(
        "--tree",
        "-t",
        help="Newick tree or QIIME 2 rooted-tree .qza matched to the features (microbiome only).",
    ),
]
TaxonomyOption = Annotated[
    Path | None,
    typer.Option(
        "--taxonomy",
        help="Feature taxonomy table (rank columns or a taxonomy string column) or QIIME 2 "
        "taxonomy .qza (microbiome only).",
    ),
]
RankOption = Annotated[
    str | None,
    typer.Option("--rank", help="Rank read from a MetaPhlAn table (default species)."),
]
OrientationOption = Annotated[
    str,
    typer.Option(
        "--orientation",
        help="Text tables: samples-as-rows, samples-as-columns, or auto (told from the header, "
        "taxonomy-like names, metadata ids, numbered rows; refused when unclear).",
    ),
]
LabelOption = Annotated[
    str | None,
    typer.Option("--label-column", help="Metadata column with class labels (genotypes only)."),
]


def input_format(path: str | os.PathLike[str], format: str | None = None) -> tuple[str, str]:
    """Format name and omics (``"microbiome"``/``"genotype"``) of an input file.

    The omics comes from the format registry (:data:`synthomics.io.FORMATS`); for ``.h5ad``
    files, which hold either, it is read from the file's ``uns["omics"]``.

    Raises
    ------
    InputError
        On an unknown format or a missing file.
    """
    from synthomics.errors import InputError, UnknownFormatError
    from synthomics.io import FORMATS, detect_format

    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise UnknownFormatError(
            path, f"unknown format {fmt!r}", expected=f"one of {sorted(FORMATS)}"
        )
    omics = FORMATS[fmt].omics
    if omics == "any":
        if not Path(path).exists():
            raise InputError(path, "file not found", expected="an existing file")
        omics = _h5ad_omics(path) or "microbiome"  # the reader explains what is missing
    return fmt, omics


def _h5ad_omics(path: str | os.PathLike[str]) -> str | None:
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
    """Read a microbiome or genotype file with its side files, as the commands do.

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
    from synthomics.errors import InputError

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


@reflow_help
@friendly_errors
def info(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Microbiome tables or genotype files (any format `convert` reads).",
            metavar="FILE",
            show_default=False,
        ),
    ],
    metadata: MetadataOption = None,
    tree: TreeOption = None,
    taxonomy: TaxonomyOption = None,
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help=f"Force the input format: {FORMAT_NAMES}."),
    ] = None,
    rank: RankOption = None,
    orientation: OrientationOption = "auto",
    label_column: LabelOption = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON array (an object per file) instead of tables."),
    ] = False,
) -> None:
    """Summarise microbiome tables and genotype files.

    For a microbiome table: samples, features, units, sparsity, library sizes, taxonomic
    ranks, how much of the table the tree covers, and the sample metadata. For genotypes:
    individuals, variants, layout, ploidy, phasing, missingness, minor allele frequency
    spectrum, chromosomes and labels. Whether a file holds a microbiome table or genotypes
    is told by its format.

    [bold]Examples[/]

      synthomics info abundance.tsv.gz --metadata samples.tsv --tree tree.nwk

      synthomics info table.biom genotypes.vcf.gz --json

      synthomics info merged_abundance.txt --format metaphlan --rank genus
    """
    import json

    from rich.markup import escape

    from synthomics.summary import summarize

    results = []
    for path in files:
        adata, fmt = read_input(
            path,
            metadata=metadata,
            tree=tree,
            taxonomy=taxonomy,
            format=format,
            rank=rank,
            label_column=label_column,
            orientation=orientation,
        )
        summary = summarize(adata, title=escape(f"{path} ({fmt}, {adata.uns['omics']})"))
        if as_json:
            results.append({"file": str(path), "format": fmt, **summary.as_dict()})
        else:
            console.print(summary.to_table())
    if as_json:
        typer.echo(json.dumps(results, indent=2))
