"""``synthomics spike``: a synthetic cohort with known microbe-metadata associations.

A thin layer over :func:`synthomics.generators.spike_in.spike_in`; the parsers below turn
the option texts into its :class:`~synthomics.generators.spike_in.Covariate` and
:class:`~synthomics.generators.spike_in.Effect` objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthomics.cli.console import console, friendly_errors, reflow_help
from synthomics.errors import InputError
from synthomics.generators.spike_in import DIRECTIONS, Covariate, Effect


def _number(text: str, option: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(option, f"{what} {text!r} is not a number", expected="a number") from None


def _name_value(text: str, option: str, expected: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise InputError(option, f"cannot read {text!r}", expected=expected)
    return name.strip(), value.strip()


def parse_binary(text: str) -> Covariate:
    """``"disease=0.5"``: a 0/1 covariate with a share 0.5 of ones."""
    name, value = _name_value(text, "--binary", "NAME=CASE_SHARE, e.g. disease=0.5")
    return Covariate.binary(name, _number(value, "--binary", f"case share of {name!r}"))


def parse_categorical(text: str) -> Covariate:
    """``"site=A:0.5,B:0.3,C:0.2"``: levels with their shares (the first is the reference)."""
    expected = "NAME=LEVEL:SHARE[,LEVEL:SHARE...], e.g. site=A:0.5,B:0.3,C:0.2"
    name, value = _name_value(text, "--categorical", expected)
    shares: dict[str, float] = {}
    for item in value.split(","):
        level, sep, share = item.rpartition(":")
        if not sep or not level.strip():
            raise InputError(
                "--categorical", f"cannot read {item!r} in {text!r}", expected=expected
            )
        if level.strip() in shares:
            raise InputError(
                "--categorical", f"level {level.strip()!r} given twice", expected="each level once"
            )
        shares[level.strip()] = _number(share, "--categorical", f"share of level {level!r}")
    return Covariate.categorical(name, shares)


def parse_continuous(text: str) -> Covariate:
    """``"age=normal:50:10"``, ``"x=uniform:0:1"`` or ``"y=lognormal:0:0.5"``."""
    expected = "NAME=DISTRIBUTION:A:B with normal:MEAN:SD, uniform:LOW:HIGH or lognormal:MU:SIGMA"
    name, value = _name_value(text, "--continuous", expected)
    parts = value.split(":")
    if len(parts) != 3:
        raise InputError("--continuous", f"cannot read {text!r}", expected=expected)
    a = _number(parts[1], "--continuous", f"first parameter of {name!r}")
    b = _number(parts[2], "--continuous", f"second parameter of {name!r}")
    return Covariate.continuous(name, parts[0].strip(), a, b)


def parse_taxa(text: str) -> int | float | list[str]:
    """``"30"`` (a number), ``"0.1"`` (a share) or ``"taxon_a,taxon_b"`` (ids)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    ids = [t.strip() for t in text.split(",") if t.strip()]
    if not ids:
        raise InputError("--taxa", f"cannot read {text!r}", expected="a number, a share or ids")
    return ids


def parse_band(text: str) -> tuple[float, float]:
    """``"0.1:0.5"``: a prevalence band."""
    low, sep, high = text.partition(":")
    if not sep:
        raise InputError("--prevalence-band", f"cannot read {text!r}", expected="LOW:HIGH")
    return (
        _number(low, "--prevalence-band", "low end"),
        _number(high, "--prevalence-band", "high end"),
    )


@reflow_help
@friendly_errors
def spike(
    model_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder of a fitted microbiome model (`synthomics fit`).",
            metavar="MODEL_DIR",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write table, metadata.tsv, truth.tsv and spike.json in.",
            show_default=False,
        ),
    ],
    n: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--n-samples",
            help="Number of samples (default: the rows of --metadata).",
            show_default=False,
        ),
    ] = None,
    binary: Annotated[
        list[str] | None,
        typer.Option(
            "--binary", help="0/1 covariate NAME=CASE_SHARE, e.g. disease=0.5 (repeatable)."
        ),
    ] = None,
    categorical: Annotated[
        list[str] | None,
        typer.Option(
            "--categorical",
            help="Categorical covariate NAME=LEVEL:SHARE,..., first level the reference, "
            "e.g. site=A:0.5,B:0.3,C:0.2 (repeatable).",
        ),
    ] = None,
    continuous: Annotated[
        list[str] | None,
        typer.Option(
            "--continuous",
            help="Continuous covariate NAME=normal:MEAN:SD, uniform:LOW:HIGH or "
            "lognormal:MU:SIGMA, e.g. age=normal:50:10 (repeatable).",
        ),
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(
            "--metadata",
            "-m",
            help="Reuse a sample metadata table (TSV/CSV, first column = sample id): numeric "
            "0/1 columns are binary, other numbers continuous, text categorical.",
        ),
    ] = None,
    effect_on: Annotated[
        list[str] | None,
        typer.Option(
            "--effect-on",
            help="Covariate that changes the chosen taxa (repeatable; default: every "
            "simulated covariate). Each covariate gets its own taxa.",
        ),
    ] = None,
    taxa: Annotated[
        str,
        typer.Option("--taxa", help="Taxa per covariate: a number, a share (0.1) or ids (a,b,c)."),
    ] = "10",
    log_fold_change: Annotated[
        float,
        typer.Option(
            "--log-fold-change",
            help="Natural-log fold change of abundance per unit covariate (magnitude).",
        ),
    ] = 1.0,
    prevalence_shift: Annotated[
        float,
        typer.Option(
            "--prevalence-shift", help="Shift of the presence log-odds per unit covariate."
        ),
    ] = 0.0,
    direction: Annotated[
        str, typer.Option("--direction", help="up, down or mixed (half up, half down).")
    ] = "mixed",
    prevalence_band: Annotated[
        str,
        typer.Option(
            "--prevalence-band",
            help="Pick random taxa among those with a drawn prevalence in LOW:HIGH.",
        ),
    ] = "0:1",
    null: Annotated[
        bool,
        typer.Option("--null", help="No effects: a null cohort, for false-positive rates."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the whole simulation.")] = 0,
    library_size: Annotated[
        int | None,
        typer.Option(
            "--library-size",
            help="Read depth of every sample (default: drawn from the training depths).",
            show_default=False,
        ),
    ] = None,
    table_format: Annotated[
        str, typer.Option("--format", help="Table format: tsv, csv, biom or h5ad.")
    ] = "tsv",
    counts: Annotated[
        bool,
        typer.Option(
            "--counts/--proportions",
            help="Write integer reads (when the model draws them) or relative abundances.",
        ),
    ] = True,
) -> None:
    """Simulate a cohort with known microbe-metadata associations and write its truth.

    Example: synthomics spike models/midasim -n 200 --binary disease=0.5 --taxa 30
    --log-fold-change 1.0 --prevalence-shift 0.5 --seed 1 --out sim/
    """
    from synthomics.generators.spike_in import spike_in

    covariates = [
        *(parse_binary(t) for t in binary or []),
        *(parse_categorical(t) for t in categorical or []),
        *(parse_continuous(t) for t in continuous or []),
    ]
    table = None
    if metadata is not None:
        from synthomics.io.metadata import read_sample_metadata

        table = read_sample_metadata(metadata)
    if direction not in DIRECTIONS:
        raise InputError(
            "--direction", f"unknown direction {direction!r}", expected=f"one of {DIRECTIONS}"
        )
    if table_format not in ("tsv", "csv", "biom", "h5ad"):
        raise InputError(
            "--format", f"unknown format {table_format!r}", expected="tsv, csv, biom or h5ad"
        )
    known = [c.name for c in covariates] + (
        [str(c) for c in table.columns] if table is not None else []
    )
    targets = list(effect_on) if effect_on else [c.name for c in covariates]
    for name in targets:
        if name not in known:
            raise InputError(
                metadata if table is not None else "--effect-on",
                f"unknown covariate {name!r}",
                expected=f"one of {known}" if known else "--binary, --categorical or --continuous",
            )
    if not targets and not null:
        raise InputError(
            "--effect-on",
            "no covariate to attach effects to",
            expected="--effect-on COLUMN, a simulated covariate, or --null",
        )
    effects = (
        []
        if null
        else [
            Effect(
                name,
                taxa=parse_taxa(taxa),
                log_fold_change=log_fold_change,
                presence_shift=prevalence_shift,
                direction=direction,
                prevalence=parse_band(prevalence_band),
            )
            for name in targets
        ]
    )
    cohort = spike_in(
        model_dir,
        n,
        covariates=covariates,
        metadata=table,
        effects=effects,
        seed=seed,
        library_size=library_size,
    )
    cohort.write(out, table_format=table_format, counts=counts)
    truth = cohort.truth[cohort.truth["affected"]]
    summary = (
        "a null cohort, no effects"
        if truth.empty
        else f"{truth['taxon'].nunique()} taxa associated with "
        + ", ".join(sorted(truth["covariate"].unique()))
    )
    console.print(
        f"wrote {cohort.data.n_obs} samples x {cohort.data.n_vars} taxa from "
        f"[bold]{cohort.settings['generator']}[/] (seed {seed}) to {out}: {summary}; "
        f"the truth is in {Path(out) / 'truth.tsv'}",
        highlight=False,
    )
