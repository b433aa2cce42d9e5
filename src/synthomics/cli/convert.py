"""``synthomics convert``: from any supported format to any other of the same kind of data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help
from synthomics.cli.info import (
    FORMAT_NAMES,
    LabelOption,
    MetadataOption,
    OrientationOption,
    RankOption,
    TaxonomyOption,
    TreeOption,
)

if TYPE_CHECKING:
    import anndata as ad


def output_format(path: str | os.PathLike[str], to: str | None = None) -> tuple[str, str]:
    """Format name and omics (``microbiome``, ``genotype`` or ``any``) of an output file.

    Raises
    ------
    UnknownFormatError
        If the format is unknown or has no writer.
    """
    from synthomics.errors import UnknownFormatError
    from synthomics.io import FORMATS, detect_format

    fmt = to or detect_format(path, for_writing=True)
    if fmt not in FORMATS or FORMATS[fmt].writer is None:
        writable = sorted(name for name, f in FORMATS.items() if f.writer)
        raise UnknownFormatError(
            path, f"no writer for format {fmt!r}", expected=f"one of {writable}"
        )
    return fmt, FORMATS[fmt].omics


def _check_kinds(output: Path, in_omics: str, out_fmt: str, out_omics: str) -> None:
    from synthomics.errors import InputError
    from synthomics.io import FORMATS

    if out_omics in ("any", in_omics):
        return
    same_kind = sorted(
        name for name, f in FORMATS.items() if f.writer and f.omics in ("any", in_omics)
    )
    raise InputError(
        output,
        f"cannot convert {in_omics} data to {out_fmt}, a {out_omics} format",
        expected=f"an output format for {in_omics} data: {', '.join(same_kind)}",
    )


def convert_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    metadata: str | os.PathLike[str] | None = None,
    tree: str | os.PathLike[str] | None = None,
    taxonomy: str | os.PathLike[str] | None = None,
    from_format: str | None = None,
    to_format: str | None = None,
    rank: str | None = None,
    label_column: str | None = None,
    tree_out: str | os.PathLike[str] | None = None,
    orientation: str = "auto",
) -> tuple[ad.AnnData, str, str]:
    """Read ``input`` (with its side files) and write it to ``output`` in another format.

    A microbiome table is never written to a genotype format nor the reverse; ``.h5ad``
    takes either. The kinds are compared before anything is read.

    Parameters
    ----------
    input, output
        Files; formats from the names unless ``from_format``/``to_format`` are given.
    metadata, tree, taxonomy, rank, label_column, orientation
        As for :func:`synthomics.io.read_input`.
    from_format, to_format
        Force the input/output format (names of :data:`synthomics.io.FORMATS`).
    tree_out
        Also write ``uns["tree"]`` (tips = feature ids) as Newick to this file.

    Returns
    -------
    (anndata.AnnData, str, str)
        The container and the input and output format names.
    """
    from synthomics.errors import InputError
    from synthomics.io import input_format, read_input, write
    from synthomics.io.atomic import atomic_path, check_output

    output = Path(output)
    in_fmt, in_omics = input_format(input, from_format)
    out_fmt, out_omics = output_format(output, to_format)
    _check_kinds(output, in_omics, out_fmt, out_omics)
    if tree_out is not None and in_omics != "microbiome":
        raise InputError(
            input, "--tree-out applies to microbiome tables", expected="no --tree-out for genotypes"
        )
    check_output(output)
    if tree_out is not None:
        check_output(tree_out, option="--tree-out")
    adata, in_fmt = read_input(
        input,
        metadata=metadata,
        tree=tree,
        taxonomy=taxonomy,
        format=in_fmt,
        rank=rank,
        label_column=label_column,
        orientation=orientation,
    )
    _check_kinds(output, str(adata.uns["omics"]), out_fmt, out_omics)
    if tree_out is not None:
        newick = adata.uns.get("tree")
        if newick is None:
            raise InputError(
                input,
                "the table has no tree to write",
                expected="a tree given with --tree, or rank columns",
            )
        with atomic_path(tree_out) as tmp:
            tmp.write_text(str(newick) + "\n")
    write(adata, output, format=out_fmt)
    return adata, in_fmt, out_fmt


@reflow_help
@friendly_errors
def convert(
    input: Annotated[Path, typer.Argument(help="File to read.", metavar="IN", show_default=False)],
    output: Annotated[
        Path, typer.Argument(help="File to write.", metavar="OUT", show_default=False)
    ],
    metadata: MetadataOption = None,
    tree: TreeOption = None,
    taxonomy: TaxonomyOption = None,
    from_format: Annotated[
        str | None,
        typer.Option("--from", help=f"Input format, when the name does not tell: {FORMAT_NAMES}."),
    ] = None,
    to_format: Annotated[
        str | None,
        typer.Option("--to", help="Output format, when the name does not tell (same names)."),
    ] = None,
    rank: RankOption = None,
    orientation: OrientationOption = "auto",
    label_column: LabelOption = None,
    tree_out: Annotated[
        Path | None,
        typer.Option("--tree-out", help="Also write the matched tree (tips = feature ids) here."),
    ] = None,
) -> None:
    """Convert between file formats without changing a value.

    Microbiome tables: BIOM (.biom; JSON with .biom.json), TSV/CSV (.tsv, .csv, compressed
    with .gz/.bz2/.xz), MetaPhlAn merged tables (read only) and AnnData (.h5ad).
    Genotypes: VCF (.vcf, .vcf.gz), PLINK (.bed/.bim/.fam or the prefix), .hapt, 0/1/2
    matrices (.012) and .h5ad. A microbiome table cannot become a genotype file or the
    reverse. .h5ad keeps everything (metadata, taxonomy, tree); BIOM keeps metadata and
    taxonomy; use --tree-out to keep the tree beside other formats.

    [bold]Examples[/]

      synthomics convert abundance.tsv.gz table.biom --metadata samples.tsv

      synthomics convert table.biom table.h5ad --tree tree.nwk

      synthomics convert merged_abundance.txt genus.tsv --from metaphlan --rank genus

      synthomics convert genotypes.vcf.gz genotypes.bed
    """
    from rich.markup import escape

    adata, in_fmt, out_fmt = convert_file(
        input,
        output,
        metadata=metadata,
        tree=tree,
        taxonomy=taxonomy,
        from_format=from_format,
        to_format=to_format,
        rank=rank,
        label_column=label_column,
        tree_out=tree_out,
        orientation=orientation,
    )
    what = "samples x features" if adata.uns.get("omics") == "microbiome" else "rows x variants"
    console.print(
        escape(
            f"wrote {output} ({out_fmt}) from {input} ({in_fmt}): "
            f"{adata.n_obs:,} x {adata.n_vars:,} {what}"
        ),
        highlight=False,
        soft_wrap=True,
    )
