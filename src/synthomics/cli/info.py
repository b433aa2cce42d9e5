"""``synthomics info``: what a microbiome table or genotype file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help
from synthomics.io.dispatch import input_format, read_input

__all__ = ["info", "input_format", "read_input"]

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
ReferenceOption = Annotated[
    Path | None,
    typer.Option(
        "--reference",
        help="A larger cohort of the same kind of profiles, taxa named as in DATA, "
        "that the diffusion model trains on first.",
        show_default=False,
    ),
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
