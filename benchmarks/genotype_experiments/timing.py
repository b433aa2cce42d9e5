"""Time the default GenotypeDiffusion: fit on all 1,500 x 5,000 of the ``ooa_sim`` data
(conditional on the population) and sample 1,500 individuals.

    OMP_NUM_THREADS=2 python benchmarks/genotype_experiments/timing.py [JSON options]
"""

from __future__ import annotations

import json
import sys
import time

import torch

from synthomics.datasets import simulate_genotypes
from synthomics.genotype_diffusion import GenotypeDiffusion

torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "2")))
options = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")
adata = simulate_genotypes(500, 5000, seed=2026)
start = time.perf_counter()
model = GenotypeDiffusion(seed=0, progress=False, **options).fit(adata, condition="population")
fit = time.perf_counter() - start
start = time.perf_counter()
synthetic = model.sample(1500, seed=1)
sample = time.perf_counter() - start
record = {k: model.fit_record_[k] for k in ("n_latent", "parameters", "steps", "best_epoch")}
print(json.dumps({"fit_seconds": fit, "sample_seconds_1500": sample, **record}))
