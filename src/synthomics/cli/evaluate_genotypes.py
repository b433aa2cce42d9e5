"""``synthomics evaluate-genotypes``: judge synthetic genotype sets against real data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help


def _read(path: Path, metadata: Path | None, label: str | None) -> object:
    """A genotype file (VCF, PLINK, .hapt, 0/1/2 matrix, h5ad) as a genotype container."""
    from synthomics.errors import InputError
    from synthomics.io import read_input

    adata, _ = read_input(path, metadata=metadata, label_column=label)
    if adata.uns.get("omics") != "genotype":
        raise InputError(
            path,
            f"holds {adata.uns.get('omics')!r} data, not genotypes",
            expected="a VCF, PLINK .bed, .hapt, genotype matrix or genotype .h5ad file",
        )
    return adata


def _labels_beside(path: Path) -> Path | None:
    """The labels file ``synthomics sample`` wrote beside a VCF/PLINK output, if any."""
    from synthomics.pipeline import sample_labels_path

    labels = sample_labels_path(path)
    return labels if labels.is_file() and path.suffix != ".h5ad" else None


@reflow_help
@friendly_errors
def evaluate_genotypes(
    real: Annotated[
        Path,
        typer.Argument(
            help="Real test individuals the generator never saw (VCF, PLINK .bed, .hapt, h5ad).",
            metavar="REAL_TEST",
            show_default=False,
        ),
    ],
    synthetic: Annotated[
        list[Path],
        typer.Argument(
            help="One or more synthetic genotype files (e.g. .h5ad from `synthomics sample`).",
            metavar="SYNTHETIC...",
            show_default=False,
        ),
    ],
    train: Annotated[
        Path | None,
        typer.Option(
            "--train", help="Real training individuals (privacy, utility and the fidelity floor)."
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", "-l", help="Label column to predict in the utility metrics."),
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(
            "--metadata",
            "-m",
            help="Sample metadata table joined to REAL_TEST and TRAIN (first column = id).",
        ),
    ] = None,
    names: Annotated[
        str | None,
        typer.Option(
            "--names",
            "-n",
            help="Comma-separated names of the synthetic sets, in order "
            "(default: the generator name or the file name).",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output folder for report.html, metrics.json and metrics.tsv."
        ),
    ] = Path("evaluation"),
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of subsamples, permutations and classifiers.")
    ] = 0,
    max_individuals: Annotated[
        int, typer.Option("--max-individuals", help="Individuals used per set at most.")
    ] = 5000,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", help="Metric or group to leave out (repeatable)."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Report title.")] = None,
) -> None:
    """Judge synthetic genotypes: fidelity, privacy and utility, with an HTML report.

    Fidelity compares each synthetic set with REAL_TEST (allele frequencies,
    heterozygosity, LD decay, PCA, Hamming distances); privacy compares it with TRAIN
    (exact copies, DCR, adversarial accuracy, membership inference on Hamming distances);
    utility trains classifiers for LABEL on synthetic and on real individuals. Every
    metric is shown beside the value two independent real samples reach.

    [bold]Examples[/]

      synthomics evaluate-genotypes test.vcf.gz hmm.h5ad --train train.vcf.gz -l population

      synthomics evaluate-genotypes test.bed a.h5ad b.h5ad --names a,b -m samples.tsv
    """
    from synthomics.errors import InputError
    from synthomics.io.atomic import check_output
    from synthomics.metrics import evaluate_genotypes as run_evaluation
    from synthomics.report import write_report
    from synthomics.report.verdict import print_verdict

    check_output(out, folder=True, option="--out")
    set_names = [n.strip() for n in names.split(",")] if names else []
    if set_names and len(set_names) != len(synthetic):
        raise InputError(
            None,
            f"{len(set_names)} --names for {len(synthetic)} synthetic sets",
            expected="one name per synthetic set, comma-separated, or none",
        )
    with console.status("reading the genotype files"):
        real_data = _read(real, metadata, None)
        train_data = _read(train, metadata, None) if train is not None else None
        # VCF/PLINK carry no labels: `synthomics sample` writes them to OUT.samples.tsv
        sets = [_read(path, _labels_beside(path), None) for path in synthetic]
    if not set_names:
        for path, data in zip(synthetic, sets, strict=True):
            generator = data.uns.get("generator", {})
            set_names.append(
                str(generator.get("name"))
                if isinstance(generator, dict) and generator.get("name")
                else path.name.split(".")[0]
            )
    for path, data in [(real, real_data), *([(train, train_data)] if train else [])]:
        if label is not None and label not in data.obs.columns:
            raise InputError(
                path,
                f"no column {label!r} for --label",
                expected=f"one of {list(data.obs.columns)} (or join one with --metadata)",
            )
    evaluation = run_evaluation(
        real_data,
        sets,
        train=train_data,
        label=label,
        names=set_names,
        seed=seed,
        max_individuals=max_individuals,
        skip=skip or (),
        progress=True,
    )
    with console.status("writing the report"):
        write_report(evaluation, out, title=title)
    print_verdict(evaluation, out / "report.html", console=console)
