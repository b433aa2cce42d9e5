"""``synthomics fit``, ``synthomics sample`` and ``synthomics models``.

Each command is a thin layer over one library call, so that the same work is one function
call away in Python: :func:`synthomics.pipeline.fit_model`,
:func:`synthomics.pipeline.sample_model` and
:func:`synthomics.generators.available_generators`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help
from synthomics.cli.info import (
    MetadataOption,
    OrientationOption,
    RankOption,
    ReferenceOption,
    TaxonomyOption,
    TreeOption,
)
from synthomics.errors import InputError
from synthomics.pipeline import (
    check_fresh_start,
    checkpoint_folder,
    fit_model,
    sample_labels_path,
    sample_model,
    write_sample_labels,
)

__all__ = [
    "check_fresh_start",
    "checkpoint_folder",
    "fit_model",
    "parse_conditions",
    "parse_options",
    "sample_labels_path",
    "sample_model",
    "write_sample_labels",
]


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
    reference: ReferenceOption = None,
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
        reference=reference,
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
        bool | None,
        typer.Option(
            "--counts/--proportions",
            help="Write integer reads or relative abundances (microbiome; default: the "
            "units the model was trained on, reads for a model fitted to read counts).",
            show_default=False,
        ),
    ] = None,
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
