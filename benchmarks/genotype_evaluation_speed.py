"""Speed and memory of the genotype evaluation: LD r² on 10,000 variants, a full report.

Run from the repository root::

    python benchmarks/genotype_evaluation_speed.py

Measures (wall seconds, peak resident memory of the process, machine load at the start):

1. LD r² and the LD decay curve of 10,000 simulated variants x 1,000 individuals
   (:func:`synthomics.metrics.genotype.ld.ld_comparison`, every pair within the largest
   distance bin, blocks of variants);
2. :func:`synthomics.metrics.evaluate_genotypes` with 750 training and 750 test individuals
   x 5,000 variants and two synthetic sets (a row bootstrap of train, an independent
   simulation), then :func:`synthomics.report.write_report`.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/genotype_evaluation_speed.md")
    args = parser.parse_args()

    from synthomics.datasets import simulate_genotypes
    from synthomics.metrics import evaluate_genotypes
    from synthomics.metrics.genotype.ld import ld_comparison
    from synthomics.report import write_report

    rows = [f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)", ""]
    big = simulate_genotypes(334, 10_000, seed=3)
    G = np.asarray(big.X)[:1000]
    start = time.perf_counter()
    result = ld_comparison(G, G, big.var["pos"], big.var["chrom"])
    ld_s = time.perf_counter() - start
    rows.append(
        f"- LD r² + decay curve, 10,000 variants x {len(G):,} individuals "
        f"({result.n_pairs:,} pairs within {int(result.edges[-1]):,} bp): **{ld_s:.1f} s**, "
        f"peak RSS {_peak_mib():.0f} MiB"
    )

    sim = simulate_genotypes(500, 5000, seed=4)
    rng = np.random.default_rng(0)
    order = rng.permutation(sim.n_obs)
    train, test = sim[np.sort(order[:750])].copy(), sim[np.sort(order[750:])].copy()
    boot = train[rng.integers(0, 750, 750)].copy()
    boot.obs_names_make_unique()
    other = simulate_genotypes(250, 5000, seed=5)
    other = other[:, : sim.n_vars].copy()
    other.var_names = sim.var_names
    other.var = sim.var.copy()
    start = time.perf_counter()
    evaluation = evaluate_genotypes(
        test, {"bootstrap": boot, "independent_sim": other}, train=train, label="population"
    )
    eval_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_report(evaluation, folder)
        report_s = time.perf_counter() - start
    rows.append(
        f"- evaluate_genotypes, 750 train / 750 test x 5,000 variants, 2 synthetic sets: "
        f"**{eval_s:.1f} s** (steps: "
        + ", ".join(f"{k} {v:.1f}" for k, v in evaluation.timings.items())
        + f"); write_report {report_s:.1f} s; peak RSS {_peak_mib():.0f} MiB"
    )
    text = "# Genotype evaluation speed\n\n" + "\n".join(rows) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
