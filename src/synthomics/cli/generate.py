"""``synthomics fit``, ``synthomics sample`` and ``synthomics models``.

Each command is a thin layer over one library call, so that the same work is one function
call away in Python: :func:`fit_model`, :func:`sample_model` and
:func:`synthomics.generators.available_generators`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help
from synthomics.cli.info import (
    MetadataOption,
    OrientationOption,
    RankOption,
    TaxonomyOption,
    TreeOption,
)
from synthomics.errors import InputError

if TYPE_CHECKING:
    import anndata as ad

    from synthomics.generators import Generator


# --------------------------------------------------------------------------- library side


def parse_conditions(text: str) -> dict[str, dict[str, int]]:
    """Parse ``"disease=IBD:100,control:200"`` into ``{"disease": {"IBD": 100, ...}}``.

    Raises
    ------
    InputError
        If the text is not ``COLUMN=LEVEL:COUNT[,LEVEL:COUNT...]`` with integer counts.
    """
    expected = "COLUMN=LEVEL:COUNT[,LEVEL:COUNT...], e.g. disease=IBD:100,control:200"
    column, sep, levels = text.partition("=")
    if not sep or not column.strip() or not levels.strip():
        raise InputError("--condition", f"cannot read {text!r}", expected=expected)
    counts: dict[str, int] = {}
    for item in levels.split(","):
        level, sep, count = item.rpartition(":")
        if not sep or not level.strip():
            raise InputError("--condition", f"cannot read {item!r} in {text!r}", expected=expected)
        try:
            value = int(count)
        except ValueError:
            raise InputError(
                "--condition",
                f"count {count!r} of level {level!r}",
                expected="a non-negative integer",
            ) from None
        if level.strip() in counts:
            raise InputError(
                "--condition", f"level {level.strip()!r} given twice", expected="each level once"
            )
        counts[level.strip()] = value
    return {column.strip(): counts}


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` generator options; values are JSON when they parse, else text.

    ``n_components=[1,2,3]``, ``rank=100``, ``shrinkage=0.2``, ``criterion=bic``.
    """
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError("--set", f"cannot read {item!r}", expected="KEY=VALUE")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def checkpoint_folder(out: str | os.PathLike[str]) -> Path:
    """Where ``fit`` and ``pretrain`` keep the resumable checkpoint of a model saved to ``out``."""
    return Path(f"{out}.checkpoints")


def check_fresh_start(folder: str | os.PathLike[str]) -> None:
    """Refuse to start afresh over the checkpoint of an interrupted run (it would be lost)."""
    from synthomics.training import last_checkpoint

    if last_checkpoint(folder) is not None:
        raise InputError(
            folder,
            "holds the checkpoint of an interrupted run",
            expected="--resume to continue it, or the folder removed to start again",
        )


def fit_model(
    model: str,
    data: str | os.PathLike[str] | ad.AnnData,
    out: str | os.PathLike[str],
    *,
    condition: str | None = None,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    metadata: str | os.PathLike[str] | None = None,
    tree: str | os.PathLike[str] | None = None,
    taxonomy: str | os.PathLike[str] | None = None,
    rank: str | None = None,
    orientation: str = "auto",
    progress: bool | None = None,
    resume: bool = False,
    announce: Callable[[str], None] | None = None,
) -> Generator:
    """Read ``data`` (a file, or a container), fit generator ``model`` and save it to ``out``.

    ``out`` is checked for writing before anything else. Models that train in steps (the
    diffusion models) keep a resumable checkpoint in ``OUT.checkpoints`` (unless the
    ``checkpoint_dir`` option names another folder) while they train, removed once the
    model is saved; ``resume`` continues from it (see
    :func:`synthomics.training.resume_point`) and passes "resuming from step N ..." to
    ``announce``, or refuses with the reason before the data are read.

    Returns
    -------
    Generator
        The fitted generator (also saved in ``out``).
    """
    import shutil

    from synthomics.generators import get_generator
    from synthomics.io.atomic import check_output

    check_output(out, folder=True, option="--out")
    generator = get_generator(model, seed=seed, progress=progress, **(options or {}))
    auto_folder = None
    if hasattr(generator, "checkpoint_dir"):  # trains in steps: checkpoints and resume
        if generator.checkpoint_dir is None:
            auto_folder = checkpoint_folder(out)
            generator.checkpoint_dir = str(auto_folder)
        generator.resume = bool(resume or generator.resume)
        if not generator.resume:
            check_fresh_start(generator.checkpoint_dir)
        else:
            from synthomics.training import resume_point

            point = resume_point(generator.checkpoint_dir)
            if announce is not None:
                announce(f"resuming from step {point.step} (epoch {point.epoch}) of {point.path}")
    elif resume:
        raise InputError(
            "--resume",
            f"{model} fits in one pass and keeps no checkpoint to resume from",
            expected="a model that trains in steps (a diffusion model)",
        )
    if isinstance(data, str | os.PathLike):
        from synthomics.cli.info import read_input

        adata, _ = read_input(
            data,
            metadata=metadata,
            tree=tree,
            taxonomy=taxonomy,
            rank=rank,
            orientation=orientation,
        )
    else:
        adata = data
    generator.fit(adata, condition=condition)
    if auto_folder is not None:  # the saved model does not point at a removed folder
        generator.checkpoint_dir, generator.resume = None, False
    generator.save(out)
    if auto_folder is not None:
        shutil.rmtree(auto_folder, ignore_errors=True)
    return generator


def sample_model(
    model_dir: str | os.PathLike[str],
    n: int | None,
    out: str | os.PathLike[str] | None = None,
    *,
    conditions: dict[str, dict[str, int]] | None = None,
    seed: int | None = None,
    counts: bool = False,
    library_size: int | None = None,
) -> ad.AnnData:
    """Load a saved generator, draw samples and (when ``out`` is given) write them.

    Parameters
    ----------
    model_dir
        Folder written by ``synthomics fit`` or ``Generator.save``.
    n
        Number of samples (may be None when ``conditions`` gives the counts).
    out
        Output file; the format follows the extension (BIOM, TSV/CSV, h5ad, ...).
    conditions
        ``{column: {level: count}}``.
    seed
        Seed of the draw.
    counts
        Write integer reads instead of relative abundances (microbiome).
    library_size
        Depth of the reads (microbiome).

    Returns
    -------
    anndata.AnnData
        The samples as written.
    """
    from synthomics.generators import load_generator
    from synthomics.io.atomic import check_output

    if out is not None:
        check_output(out, option="--out")
    generator = load_generator(model_dir)
    options: dict[str, Any] = {}
    if generator.omics == "microbiome":
        options["library_size"] = library_size
    elif counts or library_size is not None:
        raise InputError(
            model_dir,
            "--counts and --library-size apply to microbiome models",
            expected=f"neither for a {generator.omics} model",
        )
    adata = generator.sample(n, conditions=conditions, seed=seed, **options)
    if counts:
        if "counts" not in adata.layers:
            raise InputError(
                model_dir,
                "no read counts: the model was trained on relative abundances",
                expected="--library-size DEPTH to draw reads, or --proportions",
            )
        adata.layers["proportions"] = adata.X.copy()
        adata.X = adata.layers["counts"].astype("float64")
        adata.uns["units"] = "counts"
    if out is not None:
        from synthomics.io import write

        write(adata, out)
        if generator.omics == "genotype" and generator.condition_ is not None:
            write_sample_labels(adata, out, generator.condition_.column)
    return adata


def sample_labels_path(out: str | os.PathLike[str]) -> Path:
    """The side file that holds the labels of genotype samples written to ``out``."""
    return Path(f"{out}.samples.tsv")


def write_sample_labels(adata: ad.AnnData, out: str | os.PathLike[str], column: str) -> Path:
    """Write ``<out>.samples.tsv`` (sample_id, ``column``) beside a genotype file, atomically.

    VCF and PLINK keep no sample labels, so the condition level of every synthetic
    individual goes in this table; it is a sample metadata table that ``--metadata`` reads
    back. Haplotype rows are listed once per individual (the VCF sample).
    """
    import pandas as pd

    from synthomics.io.atomic import atomic_path

    obs = adata.obs
    ids = obs["individual"].astype(str) if "individual" in obs.columns else obs.index.to_series()
    table = (
        pd.DataFrame({"sample_id": ids.to_numpy(), column: obs[column].astype(str).to_numpy()})
        .drop_duplicates("sample_id")
        .reset_index(drop=True)
    )
    path = sample_labels_path(out)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    return path


# --------------------------------------------------------------------------- commands


@reflow_help
@friendly_errors
def fit(
    model: Annotated[
        str, typer.Argument(help="Generator name (see `synthomics models`).", show_default=False)
    ],
    data: Annotated[
        Path,
        typer.Argument(
            help="Training table (BIOM, TSV, MetaPhlAn, h5ad) or genotypes (VCF, PLINK .bed).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to save the fitted model in.", show_default=False),
    ],
    condition: Annotated[
        str | None,
        typer.Option(
            "--condition",
            "-c",
            help="Categorical metadata column to condition on (sample per level later).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the fit.")] = 0,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Generator option KEY=VALUE (repeatable; values as JSON), "
            "e.g. --set n_components=[1,2,3].",
        ),
    ] = None,
    metadata: MetadataOption = None,
    tree: TreeOption = None,
    taxonomy: TaxonomyOption = None,
    rank: RankOption = None,
    orientation: OrientationOption = "auto",
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted fit from its checkpoint (OUT.checkpoints; "
            "diffusion models).",
        ),
    ] = False,
) -> None:
    """Fit a generator to a table and save it (arrays + JSON manifest, no pickles).

    Diffusion models keep a checkpoint in OUT.checkpoints while they train (saved every
    minute and on Ctrl-C or SIGTERM, which stop at the end of the current epoch); after
    an interruption, run the same command with --resume.

    Example: synthomics fit ziln_copula abundance.tsv.gz --metadata samples.tsv
    --condition disease --out models/ziln
    """
    started = time.perf_counter()
    generator = fit_model(
        model,
        data,
        out,
        condition=condition,
        seed=seed,
        options=parse_options(option),
        metadata=metadata,
        tree=tree,
        taxonomy=taxonomy,
        rank=rank,
        orientation=orientation,
        progress=True,
        resume=resume,
        announce=lambda text: console.print(text, highlight=False),
    )
    spec = generator.condition_
    conditioned = (
        "" if spec is None else (f", conditioned on {spec.column!r} ({', '.join(spec.levels)})")
    )
    console.print(
        f"fitted [bold]{generator.name}[/] on {generator.training_['n_samples']} samples x "
        f"{len(generator.feature_names_)} features{conditioned} in "
        f"{time.perf_counter() - started:.1f} s; saved to {out}",
        highlight=False,
    )
    if generator.privacy_worst_case:
        console.print(
            "[bold yellow]warning:[/] this model copies training samples "
            "(privacy worst case): never share its output."
        )


@reflow_help
@friendly_errors
def sample(
    model_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder written by `synthomics fit`.", metavar="MODEL_DIR", show_default=False
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output file; format by extension (.biom, .tsv, .csv, .h5ad; genotypes .vcf.gz, "
            ".bed, .h5ad). Genotype labels of a conditional model also go to OUT.samples.tsv.",
            show_default=False,
        ),
    ],
    n: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--n-samples",
            help="Number of samples (default: the sum of --condition).",
            show_default=False,
        ),
    ] = None,
    condition: Annotated[
        str | None,
        typer.Option(
            "--condition",
            "-c",
            help="Samples per level, COLUMN=LEVEL:COUNT[,LEVEL:COUNT...], "
            "e.g. disease=IBD:100,control:200.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            "-s",
            help="Seed of the draw (default: the first seed of the model's own "
            "seeded stream, so repeated runs give the same samples).",
        ),
    ] = None,
    counts: Annotated[
        bool,
        typer.Option(
            "--counts/--proportions",
            help="Write integer reads or relative abundances (microbiome).",
        ),
    ] = False,
    library_size: Annotated[
        int | None,
        typer.Option(
            "--library-size",
            help="Read depth of every sample (default: drawn from the training library sizes).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Draw synthetic samples from a saved generator and write them.

    Example: synthomics sample models/ziln -n 300 --condition disease=IBD:100,control:200
    --out synthetic.biom
    """
    conditions = parse_conditions(condition) if condition else None
    if n is None and conditions is None:
        raise InputError(
            "-n",
            "no number of samples given",
            expected="-n N or --condition COLUMN=LEVEL:COUNT,...",
        )
    adata = sample_model(
        model_dir,
        n,
        out,
        conditions=conditions,
        seed=seed,
        counts=counts,
        library_size=library_size,
    )
    info = adata.uns["generator"]
    console.print(
        f"wrote {adata.n_obs} samples x {adata.n_vars} features from "
        f"[bold]{info['name']}[/] (seed {info['seed']}) to {out}",
        highlight=False,
    )
    if info.get("privacy_worst_case"):
        console.print(
            "[bold yellow]warning:[/] these samples are copies of training samples "
            "(privacy worst case): never share them."
        )


@friendly_errors
def models() -> None:
    """List the generators, one line each."""
    from rich.table import Table

    from synthomics.generators import available_generators
    from synthomics.generators.registry import GENERATORS

    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("model")
    table.add_column("omics")
    table.add_column("description")
    for name, description in available_generators().items():
        table.add_row(name, GENERATORS[name].omics, description)
    console.print(table)
