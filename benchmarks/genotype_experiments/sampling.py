"""Sampler settings of one fitted GenotypeDiffusion (no refit): DDIM vs DDPM, steps, guidance.

Same data, split and metrics as ``representation.py``.

    OMP_NUM_THREADS=1 python benchmarks/genotype_experiments/sampling.py '{"pca_variance": 0.95}'
"""

from __future__ import annotations

import json
import sys

import anndata as ad
import numpy as np
from representation import aats, nn_hamming, r2_decay, tstr
from sklearn.model_selection import train_test_split

from synthomics.genotype_diffusion import GenotypeDiffusion

options = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")
adata = ad.read_h5ad("/tmp/gd/ooa_200_2000.h5ad")
y = adata.obs["population"].astype(str).to_numpy()
tr, te = train_test_split(np.arange(adata.n_obs), test_size=0.25, random_state=0, stratify=y)
train, test = adata[np.sort(tr)].copy(), adata[np.sort(te)].copy()
gt, ge = np.asarray(train.X), np.asarray(test.X)
yt = train.obs["population"].astype(str).to_numpy()
ye = test.obs["population"].astype(str).to_numpy()
pos = adata.var["pos"].to_numpy()
bins = np.array([0, 1e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5])
real = r2_decay(ge, pos, bins)
model = GenotypeDiffusion(seed=0, progress=False, **options).fit(train, condition="population")
levels = list(model.condition_.levels)
codes = np.array([levels.index(v) for v in ye])
for name, (sampler, steps, guidance) in {
    "ddim50": ("ddim", 50, 1.0),
    "ddpm100": ("ddpm", 100, 1.0),
    "ddpm250": ("ddpm", 250, 1.0),
    "ddim50_g2": ("ddim", 50, 2.0),
    "ddpm100_g2": ("ddpm", 100, 2.0),
}.items():
    model.sampler = sampler
    gs = model.draw(codes, np.random.default_rng(1), guidance_scale=guidance, steps=steps)
    diff = r2_decay(gs, pos, bins) - real
    a_tr, a_te = aats(gt, gs), aats(ge, gs)
    print(
        json.dumps(
            {
                "options": options,
                "sampling": name,
                "af_r": round(float(np.corrcoef(gs.mean(0), ge.mean(0))[0, 1]), 4),
                "ld_gap_max": round(float(np.abs(diff).max()), 4),
                "ld_diff_bins": [round(float(v), 3) for v in diff],
                "aats_train": round(a_tr, 3),
                "aats_test": round(a_te, 3),
                "privacy_loss": round(a_te - a_tr, 3),
                "copies": float((nn_hamming(gs, gt) == 0).mean()),
                "tstr": round(tstr(gt, yt, gs, ye, ge, ye), 3),
            }
        ),
        flush=True,
    )
