"""Benchmark the genotype generators: generator x metric, mean +- sd over seeds, with timings.

Datasets
    ``ooa_sim``: :func:`synthomics.datasets.simulate_genotypes` (OutOfAfrica_3G09, 500
    individuals per population YRI/CEU/CHB, 5,000 variants, seed 2026), label
    ``population``. ``hgdp``: the HGDP subset in the shared data (159 individuals, 5,000
    SNPs with placeholder positions 1 kb apart), label ``region`` (7 regions; OCEANIA has 6
    individuals, so 1 or 2 in each test split).

For every seed the individuals are split 75/25 into training and held-out test individuals,
stratified by the label; every generator is fitted on the training individuals conditional
on the label (timed) and draws as many synthetic individuals per level as the training set
holds (timed), as ``synthomics run`` does, so that the classifier trained on synthetic
individuals (TSTR) learns from as many individuals as the one trained on real ones
(``--synthetic-size test`` draws the test set's counts instead). All synthetic sets of a
seed are judged together by :func:`synthomics.metrics.evaluate_genotypes` against the test
individuals, with the training individuals for privacy and utility; it subsamples the
larger set of each comparison (AATS, distances, the floor) to equal sizes.

Run from the repository root, e.g.::

    OMP_NUM_THREADS=2 python benchmarks/genotype_generators.py --dataset ooa_sim \\
        --seeds 0 1 2 --out benchmarks/results/genotypes

Outputs in ``--out``: ``runs.csv`` (one row per dataset, seed, generator and metric; runs of
other datasets already in the file are kept), ``table.md`` (mean +- sd over seeds, fit and
sample seconds) and ``runs.json`` (configuration and fit records).
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

DATA = (
    Path(
        os.environ.get(
            "SYNTHOMICS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
        )
    )
    / "genotype"
)

DATASETS: dict[str, dict[str, Any]] = {
    "ooa_sim": {
        "simulate": {"n_per_population": 500, "n_variants": 5000, "seed": 2026},
        "label": "population",
    },
    "hgdp": {
        "file": "hgdp_subset/hgdp_subset.vcf.gz",
        "metadata": "hgdp_subset/sample_metadata.tsv",
        "label": "region",
    },
}

GENERATORS = ["genotype_diffusion", "allele_frequency", "haplotype_copying", "genotype_bootstrap"]

HEADLINE = [
    "allele_frequency_pearson",
    "heterozygosity_wasserstein",
    "ld_decay_max_gap",
    "ld_r2_pearson",
    "pca_pc1_wasserstein",
    "pca_pc2_wasserstein",
    "hamming_between_wasserstein",
    "exact_copies",
    "dcr_ratio",
    "aats_train",
    "aats_test",
    "privacy_loss",
    "membership_inference_auc",
    "tstr_ratio_logistic",
    "tstr_ratio_mlp",
]


def load_dataset(name: str, cache: Path | None = None) -> tuple[Any, str]:
    """The dataset as a genotype AnnData, and its label column."""
    spec = DATASETS[name]
    if "simulate" in spec:
        import anndata as ad

        from synthomics.datasets import simulate_genotypes

        if cache is not None and cache.is_file():
            return ad.read_h5ad(cache), spec["label"]
        adata = simulate_genotypes(**spec["simulate"])
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            adata.write_h5ad(cache)
        return adata, spec["label"]
    from synthomics.io.genotype import read_genotypes

    adata = read_genotypes(
        DATA / spec["file"], metadata=DATA / spec["metadata"], label_column=spec["label"]
    )
    return adata, spec["label"]


def split(adata: Any, label: str, seed: int, test_fraction: float) -> tuple[Any, Any]:
    """Seeded train/test split, stratified by ``label``."""
    from sklearn.model_selection import train_test_split

    strata = adata.obs[label].astype(str).to_numpy()
    index = np.arange(adata.n_obs)
    train, test = train_test_split(
        index, test_size=test_fraction, random_state=seed, stratify=strata
    )
    return adata[np.sort(train)].copy(), adata[np.sort(test)].copy()


def run(args: argparse.Namespace) -> None:
    from synthomics.generators import available_generators, get_generator
    from synthomics.metrics import evaluate_genotypes

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    diffusion_options = json.loads(args.diffusion)
    known = available_generators("genotype")
    variants: dict[str, tuple[str, dict[str, Any]]] = {}
    for m in (m for m in args.models.split(",") if m):
        if m not in known:
            print(f"skipping {m}: not registered", flush=True)
            continue
        variants[m] = (m, dict(diffusion_options) if m == "genotype_diffusion" else {})
    for spec in args.variant:
        name, _, options = spec.partition("=")
        variants[name] = ("genotype_diffusion", {**diffusion_options, **json.loads(options)})
    previous = pd.read_csv(out / "runs.csv") if (out / "runs.csv").is_file() else None
    if previous is not None:
        previous = previous[previous["dataset"] != args.dataset]
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    adata, label = load_dataset(args.dataset, Path(args.cache) / f"{args.dataset}.h5ad")
    for seed in args.seeds:
        train, test = split(adata, label, seed, args.test_fraction)
        reference = train if args.synthetic_size == "train" else test
        counts = reference.obs[label].astype(str).value_counts().to_dict()
        synthetic: dict[str, Any] = {}
        for name, (registry_name, options) in variants.items():
            model = get_generator(registry_name, seed=seed, **options)
            start = time.perf_counter()
            model.fit(train, condition=label)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            sample = model.sample(conditions={label: counts}, seed=seed + 1000)
            sample_seconds = time.perf_counter() - start
            synthetic[name] = sample
            records.append(
                {
                    "dataset": args.dataset,
                    "seed": seed,
                    "generator": name,
                    "options": options,
                    "n_train": int(train.n_obs),
                    "n_test": int(test.n_obs),
                    "n_synthetic": int(sample.n_obs),
                    "fit_seconds": fit_seconds,
                    "sample_seconds": sample_seconds,
                    "fit_record": getattr(model, "fit_record_", None),
                }
            )
            for metric, value in (("fit_seconds", fit_seconds), ("sample_seconds", sample_seconds)):
                rows.append(_row(args.dataset, seed, name, metric, value))
            print(
                f"{args.dataset} seed {seed} {name}: fit {fit_seconds:.1f} s, "
                f"sample {sample_seconds:.1f} s",
                flush=True,
            )
        start = time.perf_counter()
        result = evaluate_genotypes(
            test, synthetic, train=train, label=label, seed=seed, names=list(synthetic)
        )
        print(f"evaluation {time.perf_counter() - start:.1f} s", flush=True)
        for name in synthetic:
            for metric in HEADLINE:
                rows.append(_row(args.dataset, seed, name, metric, _value(result, name, metric)))
        for metric in HEADLINE:
            rows.append(_row(args.dataset, seed, "real (floor)", metric, _floor(result, metric)))
        frame = pd.DataFrame(rows)
        if previous is not None:
            frame = pd.concat([previous, frame], ignore_index=True)
        frame.to_csv(out / "runs.csv", index=False)
        with open(out / f"runs_{args.dataset}.json", "w") as fh:
            json.dump(records, fh, indent=1, default=str)
        (out / "table.md").write_text(markdown_table(frame))
    print((out / "table.md").read_text())


def _row(dataset: str, seed: int, generator: str, metric: str, value: Any) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "seed": seed,
        "generator": generator,
        "metric": metric,
        "value": value,
    }


def _value(result: Any, name: str, metric: str) -> float | None:
    try:
        return result.value(name, metric)
    except (KeyError, ValueError):
        return None


def _floor(result: Any, metric: str) -> float | None:
    """The real-vs-real floor of ``metric`` (None where it does not apply)."""
    try:
        return result.result(result.set_names[0], metric).floor
    except (KeyError, ValueError):
        return None


def markdown_table(frame: pd.DataFrame) -> str:
    """Generator x metric, ``mean ± sd`` over seeds, one block per dataset."""
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
    parser.add_argument("--dataset", default="ooa_sim", choices=sorted(DATASETS))
    parser.add_argument("--models", default=",".join(GENERATORS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--diffusion", default="{}", help="JSON options of genotype_diffusion")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="extra genotype_diffusion variant NAME=JSON (options over --diffusion)",
    )
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument(
        "--synthetic-size",
        choices=("train", "test"),
        default="train",
        help="draw the training set's counts per label (default) or the test set's",
    )
    parser.add_argument(
        "--cache",
        default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "synthomics_genotype_bench"),
    )
    parser.add_argument("--out", default="benchmarks/results/genotypes")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
