"""The end-to-end job: split, fit generators, sample, evaluate and write the report.

``synthomics run`` and ``synthomics demo`` are this function with a file or the bundled demo
data as input:

>>> from synthomics.datasets import load_demo  # doctest: +SKIP
>>> from synthomics.pipeline import run_pipeline  # doctest: +SKIP
>>> result = run_pipeline(load_demo(), models=["ziln_copula", "midasim"],
...                       label="disease", out="demo_output")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anndata as ad

from synthomics.errors import InputError

if TYPE_CHECKING:
    from synthomics.metrics.records import Evaluation

DEMO_MODELS: tuple[str, ...] = ("midasim", "ziln_copula")
"""The two strongest baselines on the demo data (``benchmarks/generators.py --evaluate``);
the flagship diffusion model joins them when registered."""


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
        Path of each generator's synthetic table (``.h5ad``).
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


def _progress() -> Any:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )


def run_pipeline(
    adata: ad.AnnData,
    *,
    models: Sequence[str] = DEMO_MODELS,
    out: str | os.PathLike[str],
    label: str | None = None,
    conditional: bool = True,
    test_fraction: float = 0.3,
    group_by: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> PipelineResult:
    """Fit each generator on a training split, sample, evaluate against the test split.

    Parameters
    ----------
    adata
        A microbiome container (:func:`synthomics.io.read_microbiome`).
    models
        Registered generator names (:func:`synthomics.generators.available_generators`).
    out
        Output folder: ``report.html``, ``metrics.json``, ``metrics.tsv``,
        ``synthetic/<model>.h5ad``, ``models/<model>/`` and ``timings.json``.
    label
        ``obs`` column for stratified splitting, conditional generation and utility metrics.
    conditional
        Fit the generators conditionally on ``label`` (when given).
    test_fraction
        Share of the samples held out as the real test set.
    group_by
        ``obs`` column of subject ids, so that no subject is on both sides of the split.
    seed
        Seed of the split, every fit, every sample and the evaluation.
    progress
        Show rich progress bars.

    Returns
    -------
    PipelineResult
        Paths and timings.
    """
    from synthomics.generators import get_generator
    from synthomics.io import write
    from synthomics.metrics import evaluate
    from synthomics.preprocessing.split import train_test_split
    from synthomics.report import write_report

    if not models:
        raise InputError(None, "no generator given", expected="at least one model name")
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
    steps = _progress() if progress else None
    if steps is not None:
        steps.start()
    try:
        task = steps.add_task("fit and sample", total=len(models)) if steps else None
        for name in models:
            if steps is not None:
                steps.update(task, description=f"fit {name}")
            start = time.perf_counter()
            generator = get_generator(name).fit(train, condition=condition)
            fitted = time.perf_counter()
            if steps is not None:
                steps.update(task, description=f"sample {name}")
            synthetic[name] = generator.sample(train.n_obs, seed=seed)
            sampled = time.perf_counter()
            result.timings[name] = {"fit_s": fitted - start, "sample_s": sampled - fitted}
            result.models[name] = generator.save(out / "models" / name)
            result.synthetic[name] = write(synthetic[name], out / "synthetic" / f"{name}.h5ad")
            if steps is not None:
                steps.advance(task)
        if steps is not None:
            steps.update(task, description="fit and sample: done")
    finally:
        if steps is not None:
            steps.stop()
    start = time.perf_counter()
    evaluation = evaluate(test, synthetic, train=train, label=label, seed=seed, progress=progress)
    result.timings["evaluation"] = {"seconds": time.perf_counter() - start}
    result.evaluation = evaluation
    result.report = write_report(evaluation, out)
    (out / "timings.json").write_text(json.dumps(result.timings, indent=2) + "\n")
    return result


__all__ = ["DEMO_MODELS", "PipelineResult", "run_pipeline"]
