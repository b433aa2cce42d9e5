"""Held-out C2ST of the ``midasim`` baseline, old against new, on several datasets and seeds.

For every dataset and seed the table is split 70/30 (seeded, unstratified); every variant
of ``midasim`` is fitted on the training part and draws as many samples as the test part
(as reads at the training depths when the table is counts). Three classifier two-sample
tests (:func:`synthomics.metrics.multivariate.c2st_auc`) then compare each synthetic set with
the test part, on the 200 taxa most prevalent in the pooled set (as the evaluation's C2ST
step):

``c2st``
    CLR of the proportions (the features of the evaluation's C2ST step).
``c2st_presence``
    Presence/absence only.
``c2st_present_log``
    log10 relative abundance of the present taxa; absent cells get -10, below any present
    value, so that this test sees presence too but mainly the abundance of what is present.

Real-vs-real floor: the training part (subsampled to the test size) against the test part.
The table gives the mean over seeds with a 95 % t interval, and the paired difference
new - old. Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/midasim_check.py --out benchmarks/results/midasim_check.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from shared_data import read_shared

DATASETS = (
    "hmp_stool",
    "hmp_tongue_dorsum",
    "hmp_supragingival_plaque",
    "hmp_buccal_mucosa",
    "hmp_oral",
    "nielsen_ibd",
    "twins",
)
VARIANTS: dict[str, dict[str, Any]] = {
    # the options that give the previous implementation's draws exactly
    "old": {"template_depths": False, "abundance_correlation": "normal_scores"},
    "new": {},
}
TESTS = ("c2st", "c2st_presence", "c2st_present_log")
TOP_TAXA = 500
C2ST_TAXA = 200
ABSENT_LOG = -10.0


def load_dataset(name: str) -> Any:
    """The dataset's table (a microbiome AnnData) with its ``TOP_TAXA`` most prevalent taxa."""
    from synthomics.preprocessing.microbiome import top_k_prevalent

    adata = read_shared(name, tree=False)
    adata = top_k_prevalent(adata, TOP_TAXA)
    keep = np.asarray(adata.X).sum(axis=1) > 0
    return adata[keep].copy()


def c2st_features(real: np.ndarray, synthetic: np.ndarray) -> dict[str, np.ndarray]:
    """The three feature sets of the module documentation, real rows first."""
    from synthomics.metrics.multivariate import top_prevalent
    from synthomics.preprocessing.microbiome import clr_transform

    both = np.vstack([real, synthetic])
    both = both / both.sum(axis=1, keepdims=True)
    columns = top_prevalent(both, C2ST_TAXA)
    present = both[:, columns] > 0
    log = np.full(present.shape, ABSENT_LOG)
    log[present] = np.log10(both[:, columns][present])
    return {
        "c2st": clr_transform(both)[:, columns],
        "c2st_presence": present.astype(np.float64),
        "c2st_present_log": log,
    }


def judge(real: np.ndarray, synthetic: np.ndarray, seed: int) -> dict[str, float]:
    """The three C2ST AUCs of ``synthetic`` against ``real`` (same number of rows)."""
    from synthomics.metrics.multivariate import c2st_auc

    n = len(real)
    return {
        test: c2st_auc(features[:n], features[n:], seed=seed)[0]
        for test, features in c2st_features(real, synthetic).items()
    }


def run_dataset(name: str, seeds: list[int], test_fraction: float) -> list[dict[str, Any]]:
    """One row per seed, variant and test."""
    from sklearn.model_selection import train_test_split

    from synthomics.generators import get_generator

    adata = load_dataset(name)
    counts = adata.uns.get("units") == "counts"
    rows = []
    for seed in seeds:
        train_rows, test_rows = train_test_split(
            np.arange(adata.n_obs), test_size=test_fraction, random_state=seed
        )
        train, test = adata[np.sort(train_rows)].copy(), adata[np.sort(test_rows)].copy()
        real = np.asarray(test.X, dtype=np.float64)
        floor_rows = np.random.default_rng(seed).choice(train.n_obs, test.n_obs, replace=False)
        sets = {"real (floor)": (np.asarray(train.X, dtype=np.float64)[floor_rows], 0.0)}
        for variant, options in VARIANTS.items():
            start = time.perf_counter()
            model = get_generator("midasim", seed=seed, **options).fit(train)
            out = model.sample(test.n_obs, seed=seed + 1000)
            seconds = time.perf_counter() - start
            values = out.layers["counts"] if counts else out.X
            sets[variant] = (np.asarray(values, dtype=np.float64), seconds)
        for variant, (values, seconds) in sets.items():
            scores = judge(real, values, seed)
            if counts:
                scores["one_read_share"] = one_read_share(values)
                if variant == "real (floor)":
                    scores["one_read_share"] = one_read_share(real)
            for test_name, auc in scores.items():
                rows.append(
                    {
                        "dataset": name,
                        "n_train": train.n_obs,
                        "n_test": test.n_obs,
                        "units": "reads" if counts else "proportions",
                        "seed": seed,
                        "variant": variant,
                        "test": test_name,
                        "auc": auc,
                        "seconds": seconds,
                    }
                )
        print(
            name,
            seed,
            {
                r["variant"] + "/" + r["test"]: round(r["auc"], 3)
                for r in rows
                if r["seed"] == seed and r["dataset"] == name
            },
            flush=True,
        )
    return rows


def one_read_share(reads: np.ndarray) -> float:
    """Share of the present cells that hold a single read."""
    present = reads[reads > 0]
    return float(np.mean(present == 1))


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t interval."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def table(rows: list[dict[str, Any]], command: str) -> str:
    """The Markdown report."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    lines = [
        "# `midasim`: held-out C2ST AUC, old against new",
        "",
        f"Command: `{command}`",
        "",
        "Mean over seeds [95 % t interval]; lower is better, 0.5 is chance. `new - old` is the "
        "paired difference per seed; *noise* marks an interval that contains 0. Features: "
        "`c2st` CLR of the proportions, `presence` presence/absence, `present log` log10 "
        f"relative abundance of present taxa (absent cells -10), on the {C2ST_TAXA} most "
        "prevalent taxa.",
        "",
        "| dataset | train/test | units | test | floor | old | new | new - old |",
        "|---|---|---|---|---|---|---|---|",
    ]
    fmt = "{:.3f} [{:.3f}, {:.3f}]"
    share = frame[frame["test"] == "one_read_share"]
    frame = frame[frame["test"] != "one_read_share"]
    for (dataset, test), part in frame.groupby(["dataset", "test"], sort=False):
        wide = part.pivot(index="seed", columns="variant", values="auc")
        cells = [fmt.format(*interval(wide[v])) for v in ("real (floor)", "old", "new")]
        diff = interval(wide["new"] - wide["old"])
        noise = " *noise*" if diff[1] <= 0 <= diff[2] else ""
        first = part.iloc[0]
        lines.append(
            f"| {dataset} | {first['n_train']}/{first['n_test']} | {first['units']} | "
            f"{test.replace('c2st_', '').replace('_', ' ')} | {cells[0]} | {cells[1]} | "
            f"{cells[2]} | {fmt.format(*diff)}{noise} |"
        )
    if len(share):
        lines += [
            "",
            "Share of the present cells that hold one read (count tables; the real column is "
            "the test part):",
            "",
            "| dataset | real | old | new |",
            "|---|---|---|---|",
        ]
        for dataset, part in share.groupby("dataset", sort=False):
            means = part.groupby("variant")["auc"].mean()
            lines.append(
                f"| {dataset} | {means['real (floor)']:.3f} | {means['old']:.3f} | "
                f"{means['new']:.3f} |"
            )
    seconds = frame[frame["variant"] != "real (floor)"].groupby("variant")["seconds"].mean()
    lines += [
        "",
        "Fit + sample seconds, mean per run: "
        + ", ".join(f"{v} {s:.1f}" for v, s in seconds.items()),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--test-fraction", type=float, default=0.3)
    parser.add_argument("--out", default="benchmarks/results/midasim_check.md")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help='an extra variant, e.g. exact=\'{"rounding": "exact"}\'',
    )
    args = parser.parse_args()
    unknown = sorted(set(args.datasets.split(",")) - set(DATASETS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {', '.join(DATASETS)}")
    for spec in args.variant:
        name, _, options = spec.partition("=")
        VARIANTS[name] = json.loads(options)
    from synthomics.io.atomic import atomic_path

    rows = []
    start = time.perf_counter()
    for name in args.datasets.split(","):
        rows += run_dataset(name, args.seeds, args.test_fraction)
    wall = time.perf_counter() - start
    options = [
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in vars(args).items()
        if k != "variant"
    ] + [f"--variant '{v}'" for v in args.variant]
    command = "OMP_NUM_THREADS=1 python benchmarks/midasim_check.py " + " ".join(options)
    report = table(rows, command) + f"Total wall time {wall:.0f} s (load average {load()}).\n"
    out = Path(args.out)
    with atomic_path(out) as tmp:
        tmp.write_text(report)
    with atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(rows, indent=1))
    print(report)


def load() -> str:
    """The machine's 1-minute load average, or "n/a"."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


if __name__ == "__main__":
    main()
