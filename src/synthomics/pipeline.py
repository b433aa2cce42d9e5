"""The jobs the commands run, as library functions.

:func:`fit_model` reads a file (or takes a container), fits a generator and saves it
(``synthomics fit``); :func:`sample_model` loads a saved generator, samples and writes the
rows (``synthomics sample``); :func:`run_pipeline` is the end-to-end job: split, fit
generators, sample, evaluate and write the report (``synthomics run`` and ``synthomics demo``,
with a file or the bundled demo data as input). It works on microbiome and genotype
containers alike (``uns["omics"]``): the omics picks the default generators and the
evaluation (:func:`synthomics.metrics.evaluate` or
:func:`synthomics.metrics.evaluate_genotypes`):

>>> from synthomics.datasets import load_demo  # doctest: +SKIP
>>> from synthomics.pipeline import run_pipeline  # doctest: +SKIP
>>> result = run_pipeline(load_demo(), models=["ziln_copula", "midasim"],
...                       label="disease", out="demo_output")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anndata as ad

from synthomics.errors import InputError
from synthomics.progress import progress_task

if TYPE_CHECKING:
    from synthomics.generators import Generator
    from synthomics.metrics.results import Evaluation

DEMO_MODELS: tuple[str, ...] = ("midasim", "ziln_copula")
"""The two strongest baselines on the demo data (``benchmarks/generators.py --evaluate``);
the flagship diffusion model joins them when registered."""

GENOTYPE_MODELS: tuple[str, ...] = (
    "genotype_diffusion",
    "allele_frequency",
    "haplotype_copying",
    "genotype_bootstrap",
)
"""Default generators for genotypes: the diffusion model, the independent-frequency and
haplotype-copying baselines, and the bootstrap of training individuals (every synthetic
individual a copy: the privacy worst case the report should flag)."""


def default_models(omics: str) -> list[str]:
    """The generators ``run`` fits when none are named, for ``"microbiome"`` or ``"genotype"``."""
    from synthomics.generators import available_generators

    if omics == "genotype":
        return list(GENOTYPE_MODELS)
    flagship = ["diffusion"] if "diffusion" in available_generators() else []
    return [*flagship, *DEMO_MODELS]


@dataclass
class PipelineResult:
    """What :func:`run_pipeline` made.

    Attributes
    ----------
    out
        The output folder.
    report
        Paths of ``report.html``, ``metrics.json`` and ``metrics.tsv``.
    synthetic
        Path of each generator's synthetic table (``.h5ad``, or the genotype format asked
        for, with its labels in ``<file>.samples.tsv`` beside it).
    models
        Folder of each fitted generator (reload with ``Generator.load``).
    timings
        Seconds spent fitting and sampling each generator, and evaluating.
    evaluation
        The evaluation behind the report (its verdicts: :mod:`synthomics.report.verdict`).
    """

    out: Path
    report: dict[str, Path]
    synthetic: dict[str, Path] = field(default_factory=dict)
    models: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    evaluation: Evaluation | None = None


def run_pipeline(
    adata: ad.AnnData,
    *,
    models: Sequence[str] | None = None,
    out: str | os.PathLike[str],
    options: Mapping[str, Mapping[str, Any]] | None = None,
    synthetic_format: str = "h5ad",
    label: str | None = None,
    conditional: bool = True,
    test_fraction: float = 0.3,
    group_by: str | None = None,
    seed: int = 0,
    progress: bool = True,
    reference: ad.AnnData | None = None,
) -> PipelineResult:
    """Fit each generator on a training split, sample, evaluate against the test split.

    Parameters
    ----------
    adata
        A microbiome container (:func:`synthomics.io.read_microbiome`) or a genotype
        container (:func:`synthomics.io.genotype.read_genotypes`).
    models
        Registered generator names (:func:`synthomics.generators.available_generators`) of
        the container's omics; None: :func:`default_models`.
    out
        Output folder: ``report.html``, ``metrics.json``, ``metrics.tsv``,
        ``synthetic/<model>.<format>``, ``models/<model>/`` and ``timings.json``.
    options
        Constructor arguments per generator name, e.g.
        ``{"genotype_diffusion": {"max_steps": 500}}``.
    synthetic_format
        Extension of the synthetic tables: ``"h5ad"``, or for genotypes also ``"vcf.gz"``,
        ``"vcf"`` or ``"bed"`` (then the labels go to ``<file>.samples.tsv`` beside it).
    label
        ``obs`` column for stratified splitting, conditional generation and utility metrics.
    conditional
        Fit the generators conditionally on ``label`` (when given).
    test_fraction
        Share of the samples held out as the real test set.
    group_by
        ``obs`` column of subject ids, so that no subject is on both sides of the split
        (haplotype layouts: ``"individual"`` by default).
    seed
        Seed of the split, every fit, every sample and the evaluation.
    progress
        Show rich progress bars.
    reference
        A larger cohort of the same kind that the generators which take one (the diffusion
        model of microbiome profiles) train on first; the others are fitted as usual.

    Returns
    -------
    PipelineResult
        Paths and timings.
    """
    from synthomics.generators import generator_class, get_generator
    from synthomics.io import write
    from synthomics.preprocessing.split import train_test_split
    from synthomics.report import write_report

    omics = str(adata.uns.get("omics", "microbiome"))
    models = default_models(omics) if models is None else list(models)
    if not models:
        raise InputError(None, "no generator given", expected="at least one model name")
    for name in models:
        other = generator_class(name).omics
        if other != omics:
            raise InputError(
                adata.uns.get("source_file"),
                f"generator {name!r} makes {other} data, the input holds {omics} data",
                expected=f"generators of {omics} data (see `synthomics models`)",
            )
    if reference is not None and not any(
        getattr(generator_class(name), "uses_reference", False) for name in models
    ):
        raise InputError(
            "--reference",
            f"none of {', '.join(models)} trains on a reference cohort",
            expected="the diffusion model of microbiome profiles ('diffusion') among the models",
        )
    options = dict(options or {})
    if synthetic_format != "h5ad" and omics != "genotype":
        raise InputError(
            None, f"synthetic format {synthetic_format!r} for {omics} data", expected="h5ad"
        )
    if group_by is None and adata.uns.get("layout") == "haplotype":
        group_by = "individual"  # both haplotypes of a person on the same side
    if label is not None and label not in adata.obs.columns:
        raise InputError(
            adata.uns.get("source_file"),
            f"label column {label!r} not in the sample metadata",
            expected=f"one of {sorted(map(str, adata.obs.columns))}",
        )
    out = Path(out)
    train, test = train_test_split(
        adata, test_fraction=test_fraction, seed=seed, stratify=label, group_by=group_by
    )
    synthetic: dict[str, ad.AnnData] = {}
    result = PipelineResult(out=out, report={})
    condition = label if (conditional and label is not None) else None
    with progress_task(progress, "fit and sample", len(models)) as task:
        for name in models:
            task.update(description=f"fit {name}")
            start = time.perf_counter()
            generator = get_generator(name, **dict(options.get(name, {})))
            if reference is not None and getattr(generator, "uses_reference", False):
                generator.fit(train, condition=condition, reference=reference)
            else:
                generator.fit(train, condition=condition)
            fitted = time.perf_counter()
            task.update(description=f"sample {name}")
            synthetic[name] = generator.sample(**_training_counts(train, condition), seed=seed)
            sampled = time.perf_counter()
            result.timings[name] = {"fit_s": fitted - start, "sample_s": sampled - fitted}
            result.models[name] = generator.save(out / "models" / name)
            path = out / "synthetic" / f"{name}.{synthetic_format}"
            result.synthetic[name] = write(synthetic[name], path)
            if omics == "genotype" and condition is not None and synthetic_format != "h5ad":
                write_sample_labels(synthetic[name], path, condition)
            task.advance()
        task.update(description="fit and sample: done")
    start = time.perf_counter()
    if omics == "genotype":
        from synthomics.metrics import evaluate_genotypes as evaluate
    else:
        from synthomics.metrics import evaluate
    evaluation = evaluate(test, synthetic, train=train, label=label, seed=seed, progress=progress)
    result.timings["evaluation"] = {"seconds": time.perf_counter() - start}
    result.evaluation = evaluation
    result.report = write_report(evaluation, out)
    (out / "timings.json").write_text(json.dumps(result.timings, indent=2) + "\n")
    return result


def _training_counts(train: ad.AnnData, condition: str | None) -> dict[str, Any]:
    """Sampling arguments for as many rows as ``train``, per level in its exact counts."""
    if condition is None:
        return {"n": train.n_obs}
    counts = train.obs[condition].astype(str).value_counts()
    return {"conditions": {condition: {str(k): int(v) for k, v in counts.items() if v > 0}}}


__all__ = [
    "DEMO_MODELS",
    "GENOTYPE_MODELS",
    "PipelineResult",
    "check_fresh_start",
    "checkpoint_folder",
    "default_models",
    "fit_model",
    "run_pipeline",
    "sample_labels_path",
    "sample_model",
    "write_sample_labels",
]


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
    reference: str | os.PathLike[str] | ad.AnnData | None = None,
) -> Generator:
    """Read ``data`` (a file, or a container), fit generator ``model`` and save it to ``out``.

    ``reference`` (a file or a container) is a larger cohort that the diffusion model of
    microbiome profiles trains on first (see :mod:`synthomics.microbiome_diffusion.model`).

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
    if reference is not None and not getattr(generator, "uses_reference", False):
        raise InputError(
            "--reference",
            f"{model} does not train on a reference cohort",
            expected="the diffusion model of microbiome profiles ('diffusion')",
        )
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
        from synthomics.io import read_input

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
    if reference is None:
        generator.fit(adata, condition=condition)
    else:
        if isinstance(reference, str | os.PathLike):
            from synthomics.io import read_input

            reference, _ = read_input(reference, rank=rank)
        generator.fit(adata, condition=condition, reference=reference)
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
    counts: bool | None = None,
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
        Write integer reads (True) or relative abundances (False) (microbiome). None
        (default): the units the model was trained on, so a model fitted to read counts
        writes reads at the training depth distribution.
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
    elif counts is True or library_size is not None:
        raise InputError(
            model_dir,
            "--counts and --library-size apply to microbiome models",
            expected=f"neither for a {generator.omics} model",
        )
    adata = generator.sample(n, conditions=conditions, seed=seed, **options)
    if counts is None:
        counts = generator.omics == "microbiome" and generator.units_ == "counts"
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
