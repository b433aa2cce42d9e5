"""``synthomics pretrain`` and ``embed``: microbiome embeddings."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from synthomics.cli.console import console, err_console, friendly_errors, reflow_help

# defaults mirror synthomics.embeddings.model.MODULE_DEFAULTS / TRAIN_DEFAULTS (kept literal
# here so that `synthomics --help` does not import torch); a test checks they agree.
DEFAULT_TRANSFORM = "clr"
DEFAULT_INPUT_SCALING = "standard"
DEFAULT_ENCODER_SIZES = "1024"
DEFAULT_DECODER_SIZES = ""
DEFAULT_MASK_RATE = 0.3
DEFAULT_DROPOUT = 0.1
DEFAULT_EPOCHS = 60
DEFAULT_BATCH_SIZE = 128
DEFAULT_LR = 1e-3
DEFAULT_WEIGHT_DECAY = 1e-4
DEFAULT_VALIDATION = 0.1
DEFAULT_PATIENCE = 30
DEFAULT_MIN_PREVALENCE = 0.001

UnitsArg = Annotated[
    str,
    typer.Option(
        "--units",
        help="Units of the tables: auto (stated in the file or detected), "
        "percent, proportion or counts.",
    ),
]
FormatArg = Annotated[
    str | None,
    typer.Option("--format", "-f", help="Force the input format (metaphlan, table, biom, h5ad)."),
]


def _widths(text: str, option: str) -> list[int]:
    from synthomics.errors import InputError

    try:
        widths = [int(w) for w in text.replace(" ", "").split(",") if w]
    except ValueError as exc:
        raise InputError(
            None,
            f"{option} {text!r} is not a comma-separated list of widths",
            expected="e.g. 1024 or 512,256",
        ) from exc
    if any(w < 1 for w in widths):
        raise InputError(None, f"{option} {text!r} has a width below 1")
    return widths


def _read(path: Path, fmt: str | None) -> Any:
    from synthomics.io import read

    return read(path, format=fmt)


@reflow_help
@friendly_errors
def pretrain(
    tables: Annotated[
        list[Path],
        typer.Argument(
            help="Species-level tables (MetaPhlAn merged tables, TSV/CSV, BIOM, h5ad).",
            metavar="TABLE...",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Model folder to write.", show_default=False)
    ],
    transform: Annotated[
        str,
        typer.Option(
            help="Input transform: clr (centred log-ratio) or log10 (log10(max(x, floor)) + 2)."
        ),
    ] = DEFAULT_TRANSFORM,
    floor: Annotated[float, typer.Option(help="Detection floor of relative abundance.")] = 1e-4,
    encoder_sizes: Annotated[
        str, typer.Option(help="Encoder widths, comma-separated; the last is the embedding width.")
    ] = DEFAULT_ENCODER_SIZES,
    decoder_sizes: Annotated[
        str, typer.Option(help="Decoder hidden widths, comma-separated (empty: one linear layer).")
    ] = DEFAULT_DECODER_SIZES,
    mask_rate: Annotated[
        float, typer.Option(help="Fraction of all taxa masked per sample.")
    ] = DEFAULT_MASK_RATE,
    present_mask_rate: Annotated[
        float | None,
        typer.Option(
            help="Fraction of the present taxa masked in addition (default: --mask-rate)."
        ),
    ] = None,
    mask_token: Annotated[str, typer.Option(help="learned or zero.")] = "learned",
    input_scaling: Annotated[
        str,
        typer.Option(help="Encoder input: standard (each taxon centred and scaled) or none."),
    ] = DEFAULT_INPUT_SCALING,
    dropout: Annotated[float, typer.Option(help="Dropout rate.")] = DEFAULT_DROPOUT,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = DEFAULT_EPOCHS,
    batch_size: Annotated[int, typer.Option(help="Samples per batch.")] = DEFAULT_BATCH_SIZE,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW).")] = DEFAULT_LR,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay.")] = DEFAULT_WEIGHT_DECAY,
    validation_fraction: Annotated[
        float, typer.Option(help="Samples held out for early stopping.")
    ] = DEFAULT_VALIDATION,
    patience: Annotated[
        int, typer.Option(help="Early-stopping patience (epochs).")
    ] = DEFAULT_PATIENCE,
    ema_decay: Annotated[
        float | None, typer.Option(help="Average the weights with this EMA decay (e.g. 0.999).")
    ] = None,
    min_prevalence: Annotated[
        float, typer.Option(help="Keep taxa present in at least this fraction of samples.")
    ] = DEFAULT_MIN_PREVALENCE,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    units: UnitsArg = "auto",
    format: FormatArg = None,
    accelerator: Annotated[str, typer.Option(help="cpu, gpu or auto.")] = "auto",
    devices: Annotated[str, typer.Option(help="Number of devices, or auto (>1: DDP).")] = "auto",
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            help="Keep checkpoints and a CSV log here (default OUT.checkpoints, removed once "
            "the model is saved)."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue an interrupted run from its checkpoint (--checkpoint-dir)."
        ),
    ] = False,
    max_time: Annotated[
        str | None, typer.Option(help="Stop training after this long, DD:HH:MM:SS.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Pretrain a masked-autoencoder embedding model on microbiome tables.

    The tables' species are united by name into the model's reference list (taxa present
    in fewer than --min-prevalence of the samples are dropped); no labels are used. The
    model folder holds weights.safetensors and config.json (options, transform, reference
    taxa), and is read by `synthomics embed`. A checkpoint is saved every minute and on
    Ctrl-C or SIGTERM (which stop at the end of the current epoch); after an interruption,
    run the same command with --resume.

    [bold]Examples[/]

      synthomics pretrain cohort1.txt cohort2.txt --out mae_model

      synthomics pretrain metaml.txt.bz2 --out mae --mask-rate 0.5 --epochs 100 --quiet
    """
    import shutil

    from synthomics.embeddings.model import MicrobiomeMAE
    from synthomics.errors import InputError
    from synthomics.io.atomic import check_output
    from synthomics.pipeline import check_fresh_start, checkpoint_folder

    check_output(out, folder=True, option="--out")
    auto_folder = checkpoint_folder(out) if checkpoint_dir is None else None
    checkpoint_dir = checkpoint_dir or auto_folder
    if not resume:
        check_fresh_start(checkpoint_dir)
    else:
        from synthomics.training import resume_point

        point = resume_point(checkpoint_dir)
        err_console.print(
            f"resuming from step {point.step} (epoch {point.epoch}) of {point.path}",
            highlight=False,
        )
    options = {
        "encoder_sizes": _widths(encoder_sizes, "--encoder-sizes"),
        "decoder_sizes": _widths(decoder_sizes, "--decoder-sizes"),
        "mask_rate": mask_rate,
        "present_mask_rate": mask_rate if present_mask_rate is None else present_mask_rate,
        "mask_token": mask_token,
        "dropout": dropout,
        "input_scaling": input_scaling,
    }
    if not options["encoder_sizes"]:
        raise InputError(None, "--encoder-sizes is empty", expected="e.g. 1024")
    try:
        model = MicrobiomeMAE(transform, floor, **options)
    except ValueError as exc:
        raise InputError(None, str(exc)) from exc
    adatas = []
    for path in tables:
        adata = _read(path, format)
        adatas.append(adata)
        err_console.print(f"read {path}: {adata.n_obs} samples x {adata.n_vars} features")
    device_count: int | str = int(devices) if devices.isdigit() else devices
    try:
        model.pretrain(
            adatas,
            units=units,
            max_epochs=epochs,
            batch_size=batch_size,
            lr=lr,  # type: ignore[arg-type]
            weight_decay=weight_decay,
            validation_fraction=validation_fraction,
            patience=patience,
            ema_decay=ema_decay,
            seed=seed,
            min_prevalence=min_prevalence,
            accelerator=accelerator,
            devices=device_count,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            progress=not quiet,
            max_time=max_time,
        )
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(None, str(exc)) from exc
    model.save(out)
    if auto_folder is not None:
        shutil.rmtree(auto_folder, ignore_errors=True)
    s = model.training_summary
    loss = s["metrics"].get("val_loss", s["metrics"].get("train_loss"))
    console.print(
        f"[bold green]saved[/] {out}: {s['n_samples']} samples, {s['n_taxa']} taxa -> "
        f"{model.module.embedding_dim}-d embeddings; {s['epochs']} epochs, "
        f"masked MSE {loss:.4f}, {s['seconds']:.0f} s",
        highlight=False,
    )


@reflow_help
@friendly_errors
def embed(
    model_dir: Annotated[
        Path,
        typer.Argument(
            help="Model folder from `synthomics pretrain`, or an MBEmbed folder "
            "(mae30_encoder_full.pkl + model_species_reference.csv).",
            show_default=False,
        ),
    ],
    table: Annotated[Path, typer.Argument(help="Table to embed.", show_default=False)],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output: .tsv/.csv (sample id + one column per dimension) or "
            ".h5ad (the table with the embeddings in obsm['X_embedding']).",
            show_default=False,
        ),
    ],
    units: UnitsArg = "auto",
    duplicates: Annotated[
        str | None,
        typer.Option(
            help="Taxa matching several reference entries: error, first or split "
            "(default: the model's; split for MBEmbed)."
        ),
    ] = None,
    format: FormatArg = None,
) -> None:
    """Embed the samples of a table with a pretrained model.

    The table's species are aligned to the model's reference list (MetaPhlAn s__ or GTDB
    names; rank prefixes, GTDB _A suffixes, case, spaces and underscores are normalised);
    the command reports the fraction of reference taxa found and of each sample's
    abundance they carry, and warns below 50 %.

    [bold]Examples[/]

      synthomics embed mae_model new_cohort.txt --out embeddings.tsv

      synthomics embed MBEmbed/model new_cohort.tsv --units percent --out emb.csv
    """
    from synthomics.io.atomic import check_output

    check_output(out, option="--out")
    from synthomics.embeddings import AlignmentWarning, load_embedder
    from synthomics.errors import InputError

    if duplicates not in (None, "error", "first", "split"):
        raise InputError(None, f"--duplicates {duplicates!r}", expected="error, first or split")
    model = load_embedder(model_dir)
    adata = _read(table, format)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AlignmentWarning)
        Z = model.embed(adata, units=units, duplicates=duplicates)  # type: ignore[arg-type]
    report = model.last_alignment
    console.print(f"[bold]{model!r}[/] on {table}", highlight=False)
    console.print(report.summary(), highlight=False)
    for w in caught:
        if issubclass(w.category, AlignmentWarning):
            err_console.print(f"[bold yellow]warning:[/] {w.message}", highlight=False)
    _write_embeddings(Z, adata, out)
    console.print(
        f"[bold green]wrote[/] {out}: {Z.shape[0]} samples x {Z.shape[1]} dimensions",
        highlight=False,
    )


def _write_embeddings(Z: Any, adata: Any, out: Path) -> None:
    import pandas as pd

    from synthomics.io.atomic import atomic_path

    name = out.name.lower()
    if name.endswith(".h5ad"):
        from synthomics.io import write

        adata.obsm["X_embedding"] = Z
        write(adata, out)
        return
    sep = "," if name.endswith((".csv", ".csv.gz")) else "\t"
    frame = pd.DataFrame(
        Z,
        index=pd.Index(adata.obs_names, name="sample_id"),
        columns=[f"emb_{i}" for i in range(Z.shape[1])],
    )
    with atomic_path(out) as tmp:
        frame.to_csv(
            tmp, sep=sep, float_format="%.6g", compression="gzip" if name.endswith(".gz") else None
        )
