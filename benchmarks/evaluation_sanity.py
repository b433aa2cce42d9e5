"""What each metric catches: the real floor, a copy of the training data, independent taxa.

On the shared real datasets, each table is split into training (70 %) and test (30 %)
samples, stratified by a label, and two deliberately flawed generators are fitted on the
training samples (:mod:`synthomics.generators`):

* ``bootstrap``: training rows drawn with replacement, a copy of the training data. It
  should pass fidelity (it *is* real data) and fail every privacy metric.
* ``independent``: each taxon drawn independently from its own training values. It keeps
  prevalence and the overall share of zeros, so it should pass the sparsity and prevalence
  metrics, and lose co-occurrence, so it should fail C2ST and per-sample richness.

Each generator samples as many samples as the training set, and
:func:`synthomics.metrics.evaluate` compares both with the test set. The script prints
three markdown tables (rows = metrics, columns = datasets): the real-vs-real floor, the
bootstrap copy and the independent sampler, each value marked ✓ pass, ~ borderline,
✗ fail (or · not judged), and writes them to
``benchmarks/results/evaluation_sanity.md`` (all records in ``.json``); the HTML reports
go to ``--out``.

Usage::

    python benchmarks/evaluation_sanity.py --out /tmp/sanity/       # all datasets
    python benchmarks/evaluation_sanity.py --datasets nielsen_ibd twins --all-metrics

Datasets (``benchmarks/shared_data.py``: ``shared/data/microbiome`` beside the repository or
``$SYNTHOMICS_SHARED_DATA/microbiome``):
``nielsen_ibd`` (396 MetaPhlAn2 profiles, label ``disease``, tree file: 460 of 719
species on it), ``twins`` (278 16S genus tables, ``phenotype``, no tree), ``metaml``
(3,608 MetaPhlAn2 profiles, ``bodysite``, 500 most prevalent species, taxonomy tree) and
``hmp_16s`` (5,452 16S OTU tables, ``HMPbodysupersite``, 500 most prevalent OTUs,
taxonomy tree). ``global_patterns`` (26 samples) is too small to split and is left out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from shared_data import MICROBIOME, read_shared, shared_dataset

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("nielsen_ibd", "twins", "metaml", "hmp_16s")
TOP_K = {"metaml": 500, "hmp_16s": 500}
"""The datasets whose most prevalent taxa alone are kept, and how many."""

SUMMARY_METRICS = (
    "zero_fraction_gap",
    "richness_wasserstein",
    "prevalence_pearson",
    "log_mean_abundance_pearson",
    "shannon_wasserstein",
    "richness_ks",
    "braycurtis_energy",
    "braycurtis_permanova_r2",
    "braycurtis_permanova_p",
    "weighted_unifrac_energy",
    "correlation_difference",
    "c2st_auc",
    "pcoa_overlap",
    "dcr_ratio",
    "dcr_close_share",
    "exact_copies",
    "near_copies",
    "aats_train",
    "aats_test",
    "privacy_loss",
    "membership_inference_auc",
    "tstr_ratio_logistic",
    "augmentation_gain",
)
MARK = {"pass": "✓", "warn": "~", "fail": "✗", "info": "·", "n/a": "n/a", "error": "error"}


def load(name: str) -> tuple[Any, str, list[str]]:
    """The dataset as a microbiome AnnData, its label column and notes on what was done."""
    from synthomics.preprocessing import top_k_prevalent

    adata = read_shared(name)
    notes = [f"{adata.n_obs} samples x {adata.n_vars} taxa ({adata.uns.get('units')})"]
    label = shared_dataset(name).label
    keep = adata.obs[label].notna().to_numpy()
    counts = adata.obs.loc[keep, label].astype(str).value_counts()
    keep &= adata.obs[label].astype(str).isin(counts[counts >= 10].index).to_numpy()
    if name in TOP_K:
        adata = top_k_prevalent(adata, TOP_K[name])
        notes.append(f"{TOP_K[name]} most prevalent taxa kept")
    keep &= np.asarray(adata.X.sum(axis=1)).ravel() > 0
    if not keep.all():
        notes.append(
            f"{int((~keep).sum())} samples dropped (empty, or label missing or in a "
            "class of fewer than 10)"
        )
    adata = adata[keep].copy()
    adata.obs[label] = adata.obs[label].astype(str)
    return adata, label, notes


def run(name: str, out: Path, seed: int) -> dict[str, Any]:
    from synthomics.generators import get_generator
    from synthomics.metrics import evaluate
    from synthomics.preprocessing import train_test_split
    from synthomics.report import write_report

    started = time.perf_counter()
    adata, label, notes = load(name)
    train, test = train_test_split(adata, test_fraction=0.3, seed=seed, stratify=label)
    sets = {}
    for generator in ("bootstrap", "independent"):
        model = get_generator(generator, seed=seed).fit(train, condition=label)
        sets[generator] = model.sample(train.n_obs, seed=seed + 1)
    evaluation = evaluate(test, sets, train=train, label=label, seed=seed)
    write_report(evaluation, out / name, title=f"Sanity check: {name}")
    elapsed = time.perf_counter() - started
    print(
        f"{name}: {train.n_obs} train / {test.n_obs} test, {adata.n_vars} taxa, "
        f"{elapsed:.0f} s -> {out / name / 'report.html'}",
        flush=True,
    )
    return {
        "evaluation": evaluation,
        "notes": notes + evaluation.notes,
        "seconds": elapsed,
        "n_train": train.n_obs,
        "n_test": test.n_obs,
        "n_taxa": adata.n_vars,
    }


def tables(results: dict[str, dict[str, Any]], metrics: list[str]) -> dict[str, str]:
    """The three markdown tables: floor, bootstrap, independent (rows metrics, cols datasets)."""
    from synthomics.metrics.specs import get_spec
    from synthomics.report.html import format_value

    names = list(results)
    out = {}
    for which in ("floor", "bootstrap", "independent"):
        header = "| metric | better | " + " | ".join(names) + " |"
        lines = [header, "|" + "---|" * (len(names) + 2)]
        for metric in metrics:
            spec = get_spec(metric)
            cells = []
            for name in names:
                ev = results[name]["evaluation"]
                if which == "floor":
                    record = next(r for r in ev.floor if r.name == metric)
                    cells.append(
                        format_value(record.value, spec) if record.value is not None else "n/a"
                    )
                else:
                    record = ev.result(which, metric)
                    text = format_value(record.value, spec) if record.value is not None else ""
                    cells.append(f"{text} {MARK[record.status]}".strip())
            lines.append(f"| {spec.label} | {spec.arrow} | " + " | ".join(cells) + " |")
        out[which] = "\n".join(lines)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the reports (default: a temporary folder)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="folder for evaluation_sanity.md and .json"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all-metrics", action="store_true", help="every metric, not a summary")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="evaluation_sanity_"))
    if not MICROBIOME.is_dir():
        raise SystemExit(f"shared datasets not found at {MICROBIOME} (set SYNTHOMICS_SHARED_DATA)")
    results = {name: run(name, args.out, args.seed) for name in args.datasets}
    from synthomics.metrics import METRICS

    metrics = [s.name for s in METRICS] if args.all_metrics else list(SUMMARY_METRICS)
    text = []
    titles = {
        "floor": "Real-vs-real floor (two independent real samples)",
        "bootstrap": "Row-bootstrap copy of the training data",
        "independent": "Independent-marginals sampler",
    }
    for which, table in tables(results, metrics).items():
        text.append(f"## {titles[which]}\n\n{table}\n")
    text.append("✓ pass, ~ borderline, ✗ fail, · not judged (see synthomics.metrics.specs).\n")
    for name, result in results.items():
        text.append(f"- {name}: " + "; ".join(result["notes"]))
    report = "\n".join(text)
    print("\n" + report)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "evaluation_sanity.md").write_text(report + "\n")
    (args.results / "evaluation_sanity.json").write_text(
        json.dumps(
            {
                name: {"evaluation": r["evaluation"].to_dict(), "seconds": r["seconds"]}
                for name, r in results.items()
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
