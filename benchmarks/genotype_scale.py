"""Fit and sample seconds and peak memory of GenotypeDiffusion at growing panel sizes.

    OMP_NUM_THREADS=1 python benchmarks/genotype_scale.py --individuals 1000 --variants 10000
    OMP_NUM_THREADS=1 python benchmarks/genotype_scale.py --individuals 5000 \\
        --variants 100000 --options '{"max_steps": 100}'
    OMP_NUM_THREADS=1 python benchmarks/genotype_scale.py --hgdp
    OMP_NUM_THREADS=2 python benchmarks/genotype_scale.py --individuals 5000 \\
        --variants 100000 --sample 1000 --threads 2

Simulated panels: OutOfAfrica_3G09 (stdpopsim + msprime), three populations in equal
shares, the model conditional on the population. ``--hgdp``: the shared HGDP subset
(159 x 5,000, conditional on the region). Peak memory: the largest resident set size of
the process seen while fitting and while sampling (read from ``/proc/self/status`` every
0.1 s, so the simulation's own peak is not counted), and the maximum over the whole process
(``getrusage``). Appends one JSON line to ``results/genotypes/scale.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from pathlib import Path

import torch

from synthomics.genotype_diffusion import GenotypeDiffusion

HGDP = Path("/work/shared/data/genotype/hgdp_subset")
RESULTS = Path(__file__).parent / "results" / "genotypes" / "scale.jsonl"


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB


class ResidentPeak:
    """Largest resident set size (GiB) seen since the last :meth:`reset`."""

    def __init__(self) -> None:
        self.peak = 0.0
        threading.Thread(target=self._poll, daemon=True).start()

    @staticmethod
    def now() -> float:
        with open("/proc/self/status") as handle:
            line = next(row for row in handle if row.startswith("VmRSS:"))
        return int(line.split()[1]) / 2**20

    def reset(self) -> None:
        self.peak = self.now()

    def _poll(self) -> None:
        while True:
            self.peak = max(self.peak, self.now())
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--individuals", type=int, default=1000)
    parser.add_argument("--variants", type=int, default=10000)
    parser.add_argument("--hgdp", action="store_true")
    parser.add_argument("--options", default="{}", help="GenotypeDiffusion options (JSON)")
    parser.add_argument("--sample", type=int, default=None, help="individuals drawn")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    options = json.loads(args.options)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    if args.hgdp:
        from synthomics.io.genotype import read_genotypes

        adata = read_genotypes(
            HGDP / "hgdp_subset.vcf.gz", metadata=HGDP / "sample_metadata.tsv"
        )
        panel, condition = "hgdp", "region"
    else:
        from synthomics.datasets import simulate_genotypes

        n = args.individuals
        sizes = {"YRI": n - 2 * (n // 3), "CEU": n // 3, "CHB": n // 3}
        adata = simulate_genotypes(sizes, args.variants, seed=2026)
        panel, condition = "ooa_sim", "population"
    load = time.perf_counter() - start
    resident = ResidentPeak()
    resident.reset()
    start = time.perf_counter()
    model = GenotypeDiffusion(seed=0, **options).fit(adata, condition=condition)
    fit = time.perf_counter() - start
    fit_peak = resident.peak
    n_sample = args.sample or adata.n_obs
    resident.reset()
    start = time.perf_counter()
    model.sample(n_sample, seed=1)
    sample = time.perf_counter() - start
    sample_peak = resident.peak
    record = {
        "panel": panel,
        "individuals": adata.n_obs,
        "variants": adata.n_vars,
        "options": options,
        "threads": args.threads,
        "load_seconds": round(load, 1),
        "fit_seconds": round(fit, 1),
        "train_seconds": round(model.fit_record_["train_seconds"], 1),
        "steps": model.fit_record_.get("steps"),
        "n_latent": model.fit_record_["n_latent"],
        "parameters": model.n_parameters,
        "sampled": n_sample,
        "sample_seconds": round(sample, 1),
        "fit_peak_gib": round(fit_peak, 2),
        "sample_peak_gib": round(sample_peak, 2),
        "process_peak_gib": round(peak_gib(), 2),
    }
    print(json.dumps(record), flush=True)
    with RESULTS.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
