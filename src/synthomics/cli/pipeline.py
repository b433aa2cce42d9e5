"""``synthomics run`` and ``synthomics demo``: fit, sample, evaluate and report in one go."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help
from synthomics.cli.info import ReferenceOption

ModelsOption = Annotated[
    str | None,
    typer.Option(
        "--models",
        help="Comma-separated generator names (see `synthomics models`). Default: the "
        "flagship diffusion model when installed, and the strongest baselines (genotypes: "
        "genotype_diffusion, allele_frequency, haplotype_copying, genotype_bootstrap).",
    ),
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of split, fits, samples, metrics.")]


def _model_list(models: str | None, omics: str = "microbiome") -> list[str]:
    from synthomics.pipeline import default_models

    if models:
        return [m.strip() for m in models.split(",") if m.strip()]
    return default_models(omics)


SYNTHETIC_FORMATS = {"vcf": "vcf.gz", "plink": "bed"}
"""Format of the synthetic genotype files ``run`` writes, after the input's (else h5ad)."""


def _finish(result: object) -> None:
    from rich.table import Table

    from synthomics.report.verdict import print_verdict

    table = Table(title="generators", title_style="bold")
    for column in ("model", "fit s", "sample s"):
        table.add_column(column, justify="right" if column != "model" else "left")
    for name, times in result.timings.items():  # type: ignore[attr-defined]
        if "fit_s" in times:
            table.add_row(name, f"{times['fit_s']:.1f}", f"{times['sample_s']:.2f}")
    console.print(table)
    print_verdict(result.evaluation, result.report["html"], console=console)  # type: ignore[attr-defined]


@reflow_help
@friendly_errors
def run(
    data: Annotated[
        Path,
        typer.Argument(
            help="Microbiome table (any format `convert` reads, QIIME 2 .qza too) or "
            "genotypes (VCF, PLINK .bed, .hapt, genotype matrix, h5ad)."
        ),
    ],
    metadata: Annotated[
        Path | None,
        typer.Option(
            "--metadata", "-m", help="Sample metadata table (first column = sample id)."
        ),
    ] = None,
    tree: Annotated[
        Path | None,
        typer.Option("--tree", "-t", help="Newick tree or QIIME 2 rooted-tree .qza."),
    ] = None,
    taxonomy: Annotated[
        Path | None,
        typer.Option(
            "--taxonomy", help="Feature taxonomy table (TSV) or QIIME 2 taxonomy .qza."
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", "-l", help="Metadata column: stratify, condition and predict."),
    ] = None,
    models: ModelsOption = None,
    out: OutOption = Path("synthomics_run"),
    group_by: Annotated[
        str | None, typer.Option("--group-by", help="Subject column for a grouped split.")
    ] = None,
    test_fraction: Annotated[
        float, typer.Option("--test-fraction", help="Share of samples held out.")
    ] = 0.3,
    seed: SeedOption = 0,
    reference: ReferenceOption = None,
) -> None:
    """Fit generators on a training split, sample, evaluate on the held-out split, report.

    Writes report.html, metrics.json, metrics.tsv, the synthetic tables (synthetic/*.h5ad;
    genotypes from a VCF or PLINK file as synthetic/*.vcf.gz or *.bed with the labels in
    *.samples.tsv beside them), the fitted models (models/*/) and timings.json into the
    output folder. As many synthetic samples are drawn as there are training samples, per
    label in the training counts.

    Examples

        synthomics run abundance.tsv.gz --metadata samples.tsv --tree tree.nwk \\
            --label disease --models diffusion,ziln_copula --out run1

        synthomics run table.qza --tree rooted-tree.qza --taxonomy taxonomy.qza \\
            --metadata sample-metadata.tsv --label body-site --out run2

        synthomics run chr22.vcf.gz --metadata populations.tsv --label population \\
            --out run3
    """
    from synthomics.io import read_input
    from synthomics.pipeline import run_pipeline

    adata, fmt = read_input(data, metadata=metadata, tree=tree, taxonomy=taxonomy)
    omics = str(adata.uns.get("omics", "microbiome"))
    cohort = None if reference is None else read_input(reference)[0]
    result = run_pipeline(
        adata,
        models=_model_list(models, omics),
        out=out,
        synthetic_format=SYNTHETIC_FORMATS.get(fmt, "h5ad") if omics == "genotype" else "h5ad",
        label=label,
        group_by=group_by,
        test_fraction=test_fraction,
        seed=seed,
        reference=cohort,
    )
    _finish(result)


@reflow_help
@friendly_errors
def demo(
    out: OutOption = Path("demo_output"),
    models: ModelsOption = None,
    seed: SeedOption = 0,
) -> None:
    """Run the whole job on the bundled demo data (Nielsen 2014 IBD species profiles).

    Fits the generators on 70 % of the 396 samples (conditional on IBD vs control), samples
    as many synthetic profiles, evaluates them against the held-out 30 % with the tree, and
    writes the HTML report.

    Examples

        synthomics demo --out demo_output
    """
    from synthomics.datasets import load_demo
    from synthomics.pipeline import run_pipeline

    console.print("[bold]synthomics demo[/]: Nielsen et al. 2014 IBD vs control, 396 x 719")
    result = run_pipeline(
        load_demo(), models=_model_list(models), out=out, label="disease", seed=seed
    )
    _finish(result)
