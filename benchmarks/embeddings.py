"""MetAML downstream benchmark of the microbiome embeddings.

The study itself (folds, tasks, learners, statistics) is :mod:`metaml_embeddings` beside this
script; this is its command line.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/embeddings.py --out benchmarks/results/embeddings
    OMP_NUM_THREADS=1 python benchmarks/embeddings.py --folds cirrhosis,t2d \\
        --variants all --draws 5 --sizes 25,50,100,all --no-forest --no-cross \\
        --out benchmarks/results/embeddings_variants
    OMP_NUM_THREADS=1 python benchmarks/embeddings.py --sizes 25,50 --draws 20 \\
        --mbembed ../shared/data/embeddings/mbembed \\
        --out benchmarks/results/embeddings_leave_study_out --models-dir /tmp/embed_models

The folds hold whole studies out of pretraining; the last command adds CLR, the
embeddings concatenated with log abundances and the published MBEmbed encoder (with and
without the NCBI/GTDB name translation, beside log abundances of the species it sees).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from synthomics.cli.console import console, err_console, friendly_errors, reflow_help


def default_metaml_path() -> Path | None:
    """The MetAML table in the shared data folder, if there is one."""
    env = os.environ.get("SYNTHOMICS_SHARED_DATA")
    roots = [Path(env)] if env else []
    roots.append(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for root in roots:
        path = root / "microbiome" / "metaml" / "abundance.txt.bz2"
        if path.is_file():
            return path
    return None


@reflow_help
@friendly_errors
def benchmark_embeddings(
    table: Annotated[
        Path | None,
        typer.Argument(
            help="The MetAML table (abundance.txt.bz2); default: the shared data folder.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "benchmark_embeddings"
    ),
    draws: Annotated[int, typer.Option(help="Random draws per task and size.")] = 10,
    sizes: Annotated[
        str, typer.Option(help="Training sizes, comma-separated; 'all' = the whole pool.")
    ] = "25,50,100,200,all",
    folds: Annotated[
        str | None, typer.Option(help="Subset of folds: cirrhosis, t2d, ibd_obesity, crc.")
    ] = None,
    variants: Annotated[
        str | None,
        typer.Option(
            help="Model variants to compare: comma-separated names of mask15, mask50, "
            "no_present_mask, log10, unscaled_input, width512, width256, epochs120, or 'all'."
        ),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="Pretraining epochs per model (default: the model's).")
    ] = None,
    forest: Annotated[bool, typer.Option(help="Include the random-forest baseline.")] = True,
    pca: Annotated[bool, typer.Option(help="Include the PCA control.")] = True,
    cross: Annotated[bool, typer.Option(help="Include the cross-cohort tasks.")] = True,
    clr: Annotated[bool, typer.Option(help="Include the CLR baseline.")] = True,
    concat: Annotated[
        bool, typer.Option(help="Include the embeddings concatenated with log abundances.")
    ] = True,
    unscaled_readout: Annotated[
        bool, typer.Option(help="Also read the embeddings without standardising them.")
    ] = False,
    mbembed: Annotated[
        Path | None,
        typer.Option(help="Folder of the published MBEmbed encoder, compared as well."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    models_dir: Annotated[
        Path | None,
        typer.Option(help="Keep (and reuse) the pretrained models here; default OUT/models."),
    ] = None,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 1,
) -> None:
    """Benchmark the embeddings against raw abundances on the MetAML table.

    For each fold of held-out cohorts a model is pretrained on the other cohorts; ridge /
    logistic regression on the embeddings is compared with the same learners on log
    relative abundance and a random forest on relative abundance, for age and BMI
    (Pearson r) and each disease vs healthy (AUROC, PR-AUC), at several training sizes
    over random draws, and across cohorts. Writes results.md, results.json and CSV files;
    models are kept under OUT/models and reused by a rerun.

    [bold]Examples[/]

      python benchmarks/embeddings.py --out bench

      python benchmarks/embeddings.py --folds cirrhosis,t2d --variants all --draws 5
    """
    import torch
    from metaml_embeddings import VARIANTS, run_metaml_benchmark
    from rich.markup import escape

    from synthomics.errors import InputError
    from synthomics.io import read

    torch.set_num_threads(threads)
    path = table or default_metaml_path()
    if path is None:
        raise InputError(
            None,
            "no MetAML table given and none in the shared data folder",
            expected="the path of abundance.txt.bz2",
        )
    try:
        size_list = [None if s.strip() == "all" else int(s) for s in sizes.split(",")]
    except ValueError as exc:
        raise InputError(None, f"--sizes {sizes!r}", expected="e.g. 25,50,100,all") from exc
    chosen = {}
    if variants:
        names = list(VARIANTS) if variants == "all" else [v.strip() for v in variants.split(",")]
        unknown = [n for n in names if n not in VARIANTS]
        if unknown:
            raise InputError(
                None, f"unknown variants {unknown}", expected=f"some of {list(VARIANTS)}"
            )
        chosen = {n: VARIANTS[n] for n in names}
    err_console.print(f"reading {path} ...")
    adata = read(path)
    report = run_metaml_benchmark(
        adata,
        out,
        variants=chosen,
        folds=folds.split(",") if folds else None,
        sizes=size_list,
        n_draws=draws,
        forest=forest,
        pca=pca,
        cross=cross,
        clr=clr,
        concat=concat,
        unscaled=unscaled_readout,
        mbembed=mbembed,
        seed=seed,
        train_options={"seed": seed} | ({"max_epochs": epochs} if epochs else {}),
        models_dir=models_dir,
        log=lambda m: err_console.print(escape(m), highlight=False),
    )
    for size, t in report["tally_vs_log_abundance"].items():
        console.print(
            f"size {size}: embeddings higher in {t['higher_mean']}/{t['tasks']} tasks "
            f"({t['ci_above_zero']} with the 95 % interval above 0), mean difference "
            f"{t['mean_difference']:+.3f}",
            highlight=False,
        )
    console.print(f"[bold green]wrote[/] {out}/results.md", highlight=False)


if __name__ == "__main__":
    sys.exit(typer.run(benchmark_embeddings))
