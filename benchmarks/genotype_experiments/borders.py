"""LD across window borders: r² of variant pairs straddling a PCA window border, real vs
synthetic, for disjoint and overlapping windows.

    OMP_NUM_THREADS=1 python benchmarks/genotype_experiments/borders.py [overlap ...]

Pairs: ``i`` in the last ``k`` variants before a border, ``j`` in the first ``k`` after it
(straddling), and as a control the same offsets shifted ``k`` variants left (inside one
window). Prints one JSON line per overlap.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from synthomics.datasets import simulate_genotypes
from synthomics.genotype_diffusion import GenotypeDiffusion

K = 10
WINDOW = 100


def pair_r2(g: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """r² of the dosages of each pair of columns (constant columns give 0)."""
    x = g.astype(np.float64)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), np.inf)
    return ((x[:, pairs[:, 0]] * x[:, pairs[:, 1]]).mean(axis=0)) ** 2


def border_pairs(m: int, shift: int = 0) -> np.ndarray:
    borders = range(WINDOW, m - WINDOW + 1, WINDOW)
    return np.array(
        [(b - K + a - shift, b + c - shift) for b in borders for a in range(K) for c in range(K)]
    )


def main(overlaps: list[int], seed: int = 0) -> None:
    adata = simulate_genotypes(150, 1000, seed=2026)
    real = np.asarray(adata.X)
    straddle, inside = border_pairs(real.shape[1]), border_pairs(real.shape[1], shift=K)
    for overlap in overlaps:
        start = time.perf_counter()
        model = GenotypeDiffusion(
            window=WINDOW, window_overlap=overlap, max_steps=800, seed=seed, progress=False
        ).fit(adata, condition="population")
        fit = time.perf_counter() - start
        synthetic = np.asarray(model.sample(adata.n_obs, seed=seed + 1).X)
        record = {"overlap": overlap, "seed": seed, "fit_seconds": round(fit, 1)}
        for name, pairs in (("straddling", straddle), ("inside", inside)):
            r, s = pair_r2(real, pairs), pair_r2(synthetic, pairs)
            record[f"{name}_r2_real"] = round(float(r.mean()), 4)
            record[f"{name}_r2_synthetic"] = round(float(s.mean()), 4)
            record[f"{name}_r2_pearson"] = round(float(np.corrcoef(r, s)[0, 1]), 4)
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 25])
