"""How much LD each representation keeps by itself: encode the real training genotypes,
decode, threshold with the calibrated decoder (calibrated on those decoded scores), compare
the LD decay with the real test individuals. No diffusion model; isolates the loss of the
representation + decoder from the model's error.

    OMP_NUM_THREADS=1 python benchmarks/genotype_experiments/oracle.py
"""

from __future__ import annotations

import anndata as ad
import numpy as np
from representation import aats, r2_decay
from sklearn.model_selection import train_test_split

from synthomics.genotype_diffusion.representation import CentredDosage, WindowedPCA
from synthomics.genotype_diffusion.thresholds import GenotypeThresholds

adata = ad.read_h5ad("/tmp/gd/ooa_200_2000.h5ad")
y = adata.obs["population"].astype(str).to_numpy()
tr, te = train_test_split(np.arange(adata.n_obs), test_size=0.25, random_state=0, stratify=y)
X = np.asarray(adata.X)
gt, ge = X[np.sort(tr)], X[np.sort(te)]
pos = adata.var["pos"].to_numpy()
bins = np.array([0, 1e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5])
real = r2_decay(ge, pos, bins)
print("train-vs-test LD diff", np.round(r2_decay(gt, pos, bins) - real, 3).tolist())
rng = np.random.default_rng(0)
for name, rep in [
    ("dosage", CentredDosage.fit(gt)),
    *[
        (f"pca{int(v * 100)}", WindowedPCA.fit(gt, window=200, variance=v))
        for v in (0.75, 0.9, 0.95, 0.99)
    ],
]:
    for noise in (0.0, 0.5, 1.0):
        if name == "dosage" and noise > 0:
            continue
        scores = rep.decode(rep.encode(gt)) + noise * rep.residual_sd * rng.standard_normal(
            gt.shape
        )
        f = GenotypeThresholds.level_frequencies(gt, np.zeros(len(gt), int), 1, 2, 0.0)
        dec = GenotypeThresholds.calibrate([scores], f).decode(scores, np.zeros(len(gt), int))
        diff = r2_decay(dec, pos, bins) - real
        print(
            f"{name} noise {noise}: latent {rep.n_latent}, LD diff {np.round(diff, 3).tolist()}, "
            f"aats vs train {aats(gt, dec):.3f}",
            flush=True,
        )
