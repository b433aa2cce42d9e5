"""Time the full evaluation report, and UniFrac and PERMANOVA against scikit-bio.

One run does three things and prints a markdown table of each (and writes them as JSON):

1. the whole report (``synthomics.metrics.evaluate`` + ``synthomics.report.write_report``)
   for ``--n-real`` real test samples, as many training samples, ``--n-synthetic``
   synthetic samples (the independent-marginals generator) and ``--n-taxa`` taxa with a
   tree (``synthomics.datasets.synthetic_microbiome``);
2. weighted and unweighted UniFrac on ``--unifrac-n`` samples: synthomics' matrix route
   against ``skbio.diversity.beta_diversity``, with the largest difference;
3. PERMANOVA with 999 permutations on ``--permanova-n`` samples: synthomics' batched
   route against ``skbio.stats.distance.permanova`` with the same seed (same
   permutations), with both pseudo-F and p.

Usage::

    python benchmarks/evaluation_speed.py                       # 5,000 x 5,000 x 500
    python benchmarks/evaluation_speed.py --n-real 500 --n-synthetic 500 --n-taxa 100 \\
        --unifrac-n 200 --permanova-n 400                        # a quick check
    python benchmarks/evaluation_speed.py --json /tmp/speed.json --report-dir /tmp/speed

Results go to ``benchmarks/results/evaluation_speed.json`` and ``.md`` by default.

Wall-clock times depend on what else runs on the machine: the load average before and
after is printed and stored; compare runs on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, *args, **kwargs) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def make_data(n_real: int, n_synthetic: int, n_taxa: int, seed: int) -> dict[str, Any]:
    """Real train and test tables with a tree, and an independent-marginals synthetic set."""
    from synthomics.datasets import synthetic_microbiome
    from synthomics.generators import get_generator

    real = synthetic_microbiome(2 * n_real, n_taxa, seed=seed)
    train, test = real[:n_real].copy(), real[n_real:].copy()
    model = get_generator("independent", seed=seed).fit(train, condition="group")
    synthetic = model.sample(n_synthetic, seed=seed + 1)
    return {"train": train, "test": test, "synthetic": synthetic}


def bench_report(data: dict[str, Any], report_dir: Path, seed: int) -> dict[str, Any]:
    from synthomics.metrics import evaluate
    from synthomics.report import write_report

    rss_before = _rss_mb()
    evaluation, wall_eval, cpu_eval = _timed(
        evaluate,
        data["test"],
        {"independent": data["synthetic"]},
        train=data["train"],
        label="group",
        seed=seed,
    )
    _, wall_report, cpu_report = _timed(write_report, evaluation, report_dir)
    errors = [(r.name, r.error) for r in evaluation.results["independent"] if r.status == "error"]
    return {
        "evaluate_wall_s": wall_eval,
        "evaluate_cpu_s": cpu_eval,
        "report_wall_s": wall_report,
        "report_cpu_s": cpu_report,
        "total_wall_s": wall_eval + wall_report,
        "total_cpu_s": cpu_eval + cpu_report,
        "steps_wall_s": {k: v for k, v in evaluation.timings.items() if k != "total"},
        "peak_rss_mb": _rss_mb(),
        "rss_before_mb": rss_before,
        "settings": evaluation.settings,
        "notes": evaluation.notes,
        "errors": errors,
    }


def bench_unifrac(data: dict[str, Any], n: int, skip_skbio: bool) -> list[dict[str, Any]]:
    from skbio.diversity import beta_diversity

    from synthomics.io.tree import uns_tree
    from synthomics.metrics.unifrac import tree_incidence, unweighted_unifrac, weighted_unifrac

    test = data["test"]
    X = np.asarray(test.X[:n], dtype=np.float64)
    X = X[X.sum(axis=1) > 0]
    taxa = list(map(str, test.var_names))
    tree = uns_tree(test)
    ids = [f"s{i}" for i in range(len(X))]
    rows = []
    for metric, ours in (
        ("weighted_unifrac", weighted_unifrac),
        ("unweighted_unifrac", unweighted_unifrac),
    ):
        incidence, incidence_wall, _ = _timed(tree_incidence, tree, taxa)
        matrix, wall, cpu = _timed(ours, X, incidence)
        row = {
            "metric": metric,
            "n": len(X),
            "taxa": len(taxa),
            "synthomics_wall_s": wall + incidence_wall,
            "synthomics_cpu_s": cpu,
        }
        if not skip_skbio:
            reference, sk_wall, sk_cpu = _timed(
                beta_diversity, metric, X, ids, taxa=taxa, tree=tree
            )
            row |= {
                "skbio_wall_s": sk_wall,
                "skbio_cpu_s": sk_cpu,
                "speedup_wall": sk_wall / (wall + incidence_wall),
                "max_abs_difference": float(np.abs(reference.data - matrix).max()),
            }
        rows.append(row)
    return rows


def bench_permanova(data: dict[str, Any], n: int, seed: int, skip_skbio: bool) -> dict[str, Any]:
    from skbio import DistanceMatrix
    from skbio.stats.distance import permanova as skbio_permanova

    from synthomics.metrics.distances import bray_curtis
    from synthomics.metrics.permanova import permanova

    half = n // 2
    P = np.vstack(
        [
            np.asarray(data["test"].X[:half], dtype=np.float64),
            np.asarray(data["synthetic"].X[:half], dtype=np.float64),
        ]
    )
    P /= P.sum(axis=1, keepdims=True)
    D = bray_curtis(P)
    groups = np.r_[np.zeros(half, dtype=int), np.ones(half, dtype=int)].astype(str)
    result, wall, cpu = _timed(permanova, D, groups, 999, seed)
    row = {
        "n": len(D),
        "permutations": 999,
        "synthomics_wall_s": wall,
        "synthomics_cpu_s": cpu,
        "pseudo_f": result.statistic,
        "p": result.p_value,
    }
    if not skip_skbio:
        dm = DistanceMatrix(D, [f"s{i}" for i in range(len(D))])
        ref, sk_wall, sk_cpu = _timed(skbio_permanova, dm, groups, permutations=999, seed=seed)
        row |= {
            "skbio_wall_s": sk_wall,
            "skbio_cpu_s": sk_cpu,
            "speedup_wall": sk_wall / wall,
            "skbio_pseudo_f": float(ref["test statistic"]),
            "skbio_p": float(ref["p-value"]),
            "f_relative_difference": abs(result.statistic - ref["test statistic"])
            / ref["test statistic"],
        }
    return row


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-real", type=int, default=5000, help="real test (and train) samples")
    parser.add_argument("--n-synthetic", type=int, default=5000)
    parser.add_argument("--n-taxa", type=int, default=500)
    parser.add_argument(
        "--unifrac-n",
        type=int,
        default=1000,
        help="samples for the UniFrac comparison (scikit-bio: ~76 s at 2,000)",
    )
    parser.add_argument("--permanova-n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-skbio", action="store_true", help="time synthomics only")
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS / "evaluation_speed.json",
        help="results as JSON; the tables go beside it as .md",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="where the timed report is written (default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    if args.report_dir is None:
        args.report_dir = Path(tempfile.mkdtemp(prefix="evaluation_speed_"))

    load_before = os.getloadavg()
    t = time.perf_counter()
    data = make_data(args.n_real, args.n_synthetic, args.n_taxa, args.seed)
    prep = time.perf_counter() - t
    print(
        f"data: {args.n_real:,} test + {args.n_real:,} train real, {args.n_synthetic:,} "
        f"synthetic, {args.n_taxa} taxa with a tree ({prep:.1f} s to make)",
        flush=True,
    )
    report = bench_report(data, args.report_dir, args.seed)
    print(f"report done in {report['total_wall_s']:.1f} s", flush=True)
    unifrac = bench_unifrac(data, args.unifrac_n, args.skip_skbio)
    print("UniFrac done", flush=True)
    perm = bench_permanova(data, args.permanova_n, args.seed, args.skip_skbio)
    load_after = os.getloadavg()

    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_before": load_before,
        "load_after": load_after,
    }
    result = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "machine": machine,
        "report": report,
        "unifrac": unifrac,
        "permanova": perm,
    }

    text: list[str] = []

    def emit(line: str = "") -> None:
        print(line)
        text.append(line)

    emit(
        f"\n## Full report ({args.n_real:,} real x {args.n_synthetic:,} synthetic x "
        f"{args.n_taxa} taxa, tree, label; {os.cpu_count()} CPUs, load "
        f"{load_before[0]:.1f} -> {load_after[0]:.1f})\n"
    )
    emit(
        _table(
            ["part", "wall s", "CPU s"],
            [
                ["evaluate", f"{report['evaluate_wall_s']:.1f}", f"{report['evaluate_cpu_s']:.1f}"],
                ["write_report", f"{report['report_wall_s']:.1f}", f"{report['report_cpu_s']:.1f}"],
                ["**total**", f"**{report['total_wall_s']:.1f}**", f"{report['total_cpu_s']:.1f}"],
            ],
        )
    )
    steps = sorted(report["steps_wall_s"].items(), key=lambda kv: -kv[1])
    emit("\nSlowest steps (wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps[:8]))
    emit(f"Peak RSS {report['peak_rss_mb']:.0f} MB (data alone {report['rss_before_mb']:.0f} MB)")
    for note in report["notes"]:
        emit(f"- {note}")
    if report["errors"]:
        emit(f"Metric errors: {report['errors']}")
    emit("\n## UniFrac distance matrix\n")
    header = ["metric", "n", "synthomics s", "scikit-bio s", "speed-up", "max |diff|"]
    emit(
        _table(
            header,
            [
                [
                    r["metric"],
                    r["n"],
                    f"{r['synthomics_wall_s']:.2f}",
                    f"{r.get('skbio_wall_s', float('nan')):.1f}",
                    f"{r.get('speedup_wall', float('nan')):.0f}x",
                    f"{r.get('max_abs_difference', float('nan')):.1e}",
                ]
                for r in unifrac
            ],
        )
    )
    emit("\n## PERMANOVA (999 permutations, same seed)\n")
    emit(
        _table(
            [
                "n",
                "synthomics s",
                "scikit-bio s",
                "speed-up",
                "pseudo-F (ours / skbio)",
                "p (ours / skbio)",
            ],
            [
                [
                    perm["n"],
                    f"{perm['synthomics_wall_s']:.2f}",
                    f"{perm.get('skbio_wall_s', float('nan')):.1f}",
                    f"{perm.get('speedup_wall', float('nan')):.0f}x",
                    f"{perm['pseudo_f']:.6g} / {perm.get('skbio_pseudo_f', float('nan')):.6g}",
                    f"{perm['p']:.3f} / {perm.get('skbio_p', float('nan')):.3f}",
                ]
            ],
        )
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
    args.json.with_suffix(".md").write_text("\n".join(text) + "\n")
    print(
        f"\nwritten {args.json}, {args.json.with_suffix('.md')} and {args.report_dir}/report.html"
    )
    return result


if __name__ == "__main__":
    main()
