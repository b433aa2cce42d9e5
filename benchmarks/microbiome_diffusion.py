"""Benchmark the microbiome generators: generator x metric, mean +- sd over seeds, with timings.

For every seed the table is split into training and held-out test samples (stratified by the
label when there is one); every generator is fitted on the training samples (timed), draws
as many synthetic samples as there are test samples (per label level when conditional,
timed) and all synthetic sets are judged together by :func:`synthomics.metrics.evaluate`
against the test samples. ``--ablation`` adds the diffusion model with each of its three
mechanisms switched off in turn.

Run from the repository root, e.g.::

    OMP_NUM_THREADS=1 python benchmarks/microbiome_diffusion.py --dataset nielsen_ibd \\
        --seeds 0 1 2 --models diffusion,ziln_copula,midasim,dmm,independent,bootstrap \\
        --ablation --out benchmarks/results/nielsen_ibd

``--speed`` instead times the default model alone on a simulated table (fit on
``--speed-samples`` x ``--speed-taxa``, then ``--speed-draw`` samples) and writes
``diffusion_speed.json`` and ``.md`` to ``--out`` with the machine load::

    OMP_NUM_THREADS=1 python benchmarks/microbiome_diffusion.py --speed --out benchmarks/results

Outputs in ``--out``: ``runs.csv`` (one row per dataset, seed, generator and metric),
``table.md`` (mean +- sd over seeds, fit and sample seconds) and ``runs.json`` (the
configuration and fit records).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shared_data import read_shared, shared_dataset

DATASETS = ("nielsen_ibd", "twins", "hmp_16s_stool")
UNLABELLED = {"twins"}
"""Datasets this benchmark splits and fits without the label column the shared table names."""

ABLATIONS: dict[str, dict[str, Any]] = {
    "diffusion-no_prevalence_init": {"prevalence_init": False},
    "diffusion-no_sparsity_loss": {"sparsity_weight": 0.0},
    "diffusion-no_poincare": {"taxon_embedding": "none"},
}

HEADLINE = [
    "zero_fraction_gap",
    "prevalence_pearson",
    "richness_wasserstein",
    "shannon_wasserstein",
    "c2st_auc",
    "braycurtis_energy",
    "braycurtis_permanova_r2",
    "weighted_unifrac_energy",
    "dcr_ratio",
    "exact_copies",
    "privacy_loss",
    "tstr_ratio_logistic",
]


def load_dataset(name: str) -> tuple[Any, str | None]:
    """The dataset as a microbiome AnnData without its absent taxa, and its label column."""
    adata = read_shared(name, tree=False)
    keep = np.asarray(adata.X).sum(axis=0) > 0
    adata = adata[:, keep].copy()
    return adata, None if name in UNLABELLED else shared_dataset(name).label


def split(adata: Any, label: str | None, seed: int, test_fraction: float) -> tuple[Any, Any]:
    """Seeded train/test split, stratified by ``label`` when given."""
    from sklearn.model_selection import train_test_split

    strata = adata.obs[label].astype(str).to_numpy() if label else None
    index = np.arange(adata.n_obs)
    train, test = train_test_split(
        index, test_size=test_fraction, random_state=seed, stratify=strata
    )
    return adata[np.sort(train)].copy(), adata[np.sort(test)].copy()


def run(args: argparse.Namespace) -> None:
    from synthomics.generators import get_generator
    from synthomics.metrics import evaluate

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    diffusion_options = json.loads(args.diffusion)
    models = [m for m in args.models.split(",") if m]
    variants: dict[str, tuple[str, dict[str, Any]]] = {
        m: (m, dict(diffusion_options) if m == "diffusion" else {}) for m in models
    }
    if args.ablation:
        for name, change in ABLATIONS.items():
            variants[name] = ("diffusion", {**diffusion_options, **change})
    for spec in args.variant:
        name, _, options = spec.partition("=")
        variants[name] = ("diffusion", {**diffusion_options, **json.loads(options)})
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    adata, label = load_dataset(args.dataset)
    label = args.label or label
    for seed in args.seeds:
        train, test = split(adata, label, seed, args.test_fraction)
        synthetic: dict[str, Any] = {}
        for name, (registry_name, options) in variants.items():
            model = get_generator(registry_name, seed=seed, **options)
            start = time.perf_counter()
            model.fit(train, condition=label if args.conditional and label else None)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            if args.conditional and label:
                counts = test.obs[label].astype(str).value_counts().to_dict()
                sample = model.sample(conditions={label: counts}, seed=seed + 1000)
            else:
                sample = model.sample(test.n_obs, seed=seed + 1000)
            sample_seconds = time.perf_counter() - start
            synthetic[name] = sample
            records.append(
                {
                    "dataset": args.dataset,
                    "seed": seed,
                    "generator": name,
                    "options": options,
                    "fit_seconds": fit_seconds,
                    "sample_seconds": sample_seconds,
                    "fit_record": getattr(model, "fit_record_", None),
                }
            )
            for metric, value in (("fit_seconds", fit_seconds), ("sample_seconds", sample_seconds)):
                rows.append(
                    {
                        "dataset": args.dataset,
                        "seed": seed,
                        "generator": name,
                        "metric": metric,
                        "value": value,
                    }
                )
            print(
                f"seed {seed} {name}: fit {fit_seconds:.1f} s, sample {sample_seconds:.1f} s",
                flush=True,
            )
        result = evaluate(
            test, synthetic, train=train, label=label, seed=seed, names=list(synthetic)
        )
        for name in synthetic:
            for metric in HEADLINE + args.extra_metrics:
                rows.append(
                    {
                        "dataset": args.dataset,
                        "seed": seed,
                        "generator": name,
                        "metric": metric,
                        "value": result.value(name, metric),
                    }
                )
        for metric in HEADLINE:
            floor = _floor(result, metric)
            rows.append(
                {
                    "dataset": args.dataset,
                    "seed": seed,
                    "generator": "real (floor)",
                    "metric": metric,
                    "value": floor,
                }
            )
        frame = pd.DataFrame(rows)
        frame.to_csv(out / "runs.csv", index=False)
        (out / "runs.json").write_text(json.dumps(records, indent=1, default=str))
        (out / "table.md").write_text(markdown_table(frame))
    print((out / "table.md").read_text())


def speed(args: argparse.Namespace) -> None:
    """Time the fit and sampling of the diffusion model on a simulated table."""
    import torch

    from synthomics.datasets import synthetic_microbiome
    from synthomics.generators import get_generator

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = {"progress": False, **json.loads(args.diffusion)}
    adata = synthetic_microbiome(args.speed_samples, args.speed_taxa, seed=0)
    load_before = os.getloadavg()
    model = get_generator("diffusion", seed=0, **options)
    start = time.perf_counter()
    model.fit(adata)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.sample(args.speed_draw, seed=1)
    sample_seconds = time.perf_counter() - start
    record = {
        "table": [int(adata.n_obs), int(adata.n_vars)],
        "options": options,
        "fit_seconds": fit_seconds,
        "sample_seconds": sample_seconds,
        "n_sampled": args.speed_draw,
        "fit_record": model.fit_record_,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    (out / "diffusion_speed.json").write_text(json.dumps(record, indent=1, default=str))
    text = (
        "### diffusion speed\n\n"
        f"fit on {adata.n_obs} x {adata.n_vars}: {fit_seconds:.1f} s "
        f"({model.fit_record_.get('steps')} steps); sample {args.speed_draw}: "
        f"{sample_seconds:.1f} s; torch threads {torch.get_num_threads()} of "
        f"{os.cpu_count()} cores; load average (1, 5, 15 min) before "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}\n"
    )
    (out / "diffusion_speed.md").write_text(text)
    print(text)


def _floor(result: Any, metric: str) -> float | None:
    """The real-vs-real floor of ``metric`` (None where it does not apply)."""
    return result.result(result.set_names[0], metric).floor


def markdown_table(frame: pd.DataFrame) -> str:
    """Generator x metric, ``mean ± sd`` over seeds."""
    frame = frame.dropna(subset=["value"])
    stats = frame.groupby(["dataset", "generator", "metric"])["value"].agg(["mean", "std", "count"])
    lines = []
    for dataset, block in stats.groupby(level=0):
        metrics = [
            m
            for m in [*HEADLINE, "fit_seconds", "sample_seconds"]
            if m in block.index.get_level_values(2)
        ]
        generators = list(dict.fromkeys(block.index.get_level_values(1)))
        lines.append(f"### {dataset}\n")
        lines.append("| generator | " + " | ".join(metrics) + " |")
        lines.append("|---" * (len(metrics) + 1) + "|")
        for generator in generators:
            cells = []
            for metric in metrics:
                key = (dataset, generator, metric)
                if key not in block.index:
                    cells.append("")
                    continue
                mean, sd, n = block.loc[key]
                cells.append(f"{mean:.3g}" if n < 2 or np.isnan(sd) else f"{mean:.3g} ± {sd:.2g}")
            lines.append(f"| {generator} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="nielsen_ibd", choices=sorted(DATASETS))
    parser.add_argument(
        "--models", default="diffusion,ziln_copula,midasim,dmm,independent,bootstrap"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--label", default=None, help="label column (default: the dataset's)")
    parser.add_argument(
        "--conditional",
        action="store_true",
        help="fit conditional models on the label and sample per level",
    )
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--diffusion", default="{}", help="JSON options of the diffusion model")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="extra diffusion variant NAME=JSON (options over --diffusion)",
    )
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--extra-metrics", nargs="*", default=[])
    parser.add_argument("--out", default="benchmarks/results/microbiome")
    parser.add_argument("--speed", action="store_true", help="time the model alone instead")
    parser.add_argument("--speed-samples", type=int, default=5000)
    parser.add_argument("--speed-taxa", type=int, default=500)
    parser.add_argument("--speed-draw", type=int, default=10_000)
    args = parser.parse_args()
    if args.speed:
        speed(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
