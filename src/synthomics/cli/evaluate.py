"""``synthomics evaluate``: judge synthetic microbiome sets against real data, write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help


def _read(path: Path, metadata: Path | None = None, tree: Path | None = None) -> object:
    from synthomics.io.microbiome import read_microbiome

    return read_microbiome(path, metadata=metadata, tree=tree)


@reflow_help
@friendly_errors
def evaluate(
    real: Annotated[
        Path,
        typer.Argument(
            help="Real test samples the generator never saw (any microbiome table format).",
            metavar="REAL",
            show_default=False,
        ),
    ],
    synthetic: Annotated[
        list[Path],
        typer.Argument(
            help="One or more synthetic tables (e.g. .h5ad from `synthomics sample`).",
            metavar="SYNTH...",
            show_default=False,
        ),
    ],
    train: Annotated[
        Path | None,
        typer.Option(
            "--train",
            help="Real training samples (needed for privacy and utility, and the fidelity floor).",
        ),
    ] = None,
    tree: Annotated[
        Path | None,
        typer.Option(
            "--tree",
            "-t",
            help="Newick tree or QIIME 2 rooted-tree .qza for Faith PD and UniFrac (tips "
            "matched to the features of REAL).",
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(
            "--label", "-l", help="Sample metadata column to predict in the utility metrics."
        ),
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(
            "--metadata",
            "-m",
            help="Sample metadata table joined to REAL and TRAIN (first column = sample id).",
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output folder for report.html, metrics.json and metrics.tsv."
        ),
    ] = Path("evaluation"),
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name",
            "-n",
            help="Name of each synthetic set, in order (default: "
            "the generator name or the file name).",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of subsamples, permutations, folds and classifiers.")
    ] = 0,
    permutations: Annotated[
        int, typer.Option("--permutations", help="PERMANOVA permutations.")
    ] = 999,
    max_samples: Annotated[
        int, typer.Option("--max-samples", help="Samples used per set at most.")
    ] = 5000,
    max_distance_samples: Annotated[
        int,
        typer.Option(
            "--max-distance-samples",
            help="Samples per set for the pairwise-"
            "distance metrics (beta diversity, PERMANOVA, PCoA).",
        ),
    ] = 1000,
    off_tree: Annotated[
        str,
        typer.Option(
            "--off-tree",
            help="Taxa absent from the tree: 'prune' (the "
            "phylogenetic metrics use the taxa on the tree) or 'error'.",
        ),
    ] = "prune",
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip",
            help="Metric or group to leave out (repeatable), e.g. "
            "c2st_auc or 'beta: weighted UniFrac'.",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Report title.")] = None,
) -> None:
    """Judge synthetic microbiome data: fidelity, privacy and utility, with an HTML report.

    Fidelity compares each synthetic set with REAL (samples the generator never saw);
    privacy compares it with TRAIN (the samples it learned from); utility trains
    classifiers for LABEL on synthetic and on real samples. Every metric is shown beside
    the value two independent real samples reach (the real-vs-real floor).

    [bold]Examples[/]

      synthomics evaluate test.h5ad ziln.h5ad bootstrap.h5ad --train train.h5ad -l disease

      synthomics evaluate test.tsv synth.h5ad --train train.tsv -m samples.tsv -t tree.nwk
    """
    from synthomics.errors import InputError
    from synthomics.io.atomic import check_output
    from synthomics.metrics import evaluate as run_evaluation
    from synthomics.report import write_report
    from synthomics.report.verdict import print_verdict

    check_output(out, folder=True, option="--out")
    if off_tree not in ("prune", "error"):
        raise InputError(None, f"--off-tree {off_tree!r}", expected="'prune' or 'error'")
    if name and len(name) != len(synthetic):
        raise InputError(
            None,
            f"{len(name)} --name values for {len(synthetic)} synthetic sets",
            expected="one --name per synthetic set, or none",
        )
    with console.status("reading the tables"):
        real_data = _read(real, metadata, tree)
        train_data = _read(train, metadata) if train is not None else None
        sets = [_read(path) for path in synthetic]
    names = list(name) if name else []
    if not names:
        for path, data in zip(synthetic, sets, strict=True):
            generator = data.uns.get("generator", {})
            names.append(
                str(generator.get("name"))
                if isinstance(generator, dict) and generator.get("name")
                else path.name.split(".")[0]
            )
    evaluation = run_evaluation(
        real_data,
        sets,
        train=train_data,
        label=label,
        names=names,
        seed=seed,
        permutations=permutations,
        max_samples=max_samples,
        max_distance_samples=max_distance_samples,
        off_tree=off_tree,
        skip=skip or (),
        progress=True,
    )
    with console.status("writing the report"):
        write_report(evaluation, out, title=title)
    print_verdict(evaluation, out / "report.html", console=console)
