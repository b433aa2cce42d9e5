"""Compare the representations of GenotypeDiffusion on a small OutOfAfrica simulation.

200 individuals per population x 2,000 variants (simulate_genotypes, seed 7), 75/25
stratified split, conditional on the population; one seed. Metrics computed here with
plain NumPy/sklearn so that the experiment does not depend on the evaluation module:
allele-frequency r, LD decay max gap (mean r² per distance bin, pairs within 200 variants),
AATS train/test (Hamming nearest neighbours), exact copies, TSTR ratio (logistic
regression on the population).

    OMP_NUM_THREADS=1 python benchmarks/genotype_experiments/representation.py \
        --variant NAME='{"representation": "dosage"}' ...
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def r2_decay(g: np.ndarray, pos: np.ndarray, bins: np.ndarray, span: int = 200) -> np.ndarray:
    """Mean r² per distance bin over pairs of variants at most ``span`` apart (by products)."""
    x = g.astype(np.float64)
    x = x - x.mean(0)
    sd = np.sqrt((x**2).mean(0))
    ok = sd > 0
    z = np.where(ok, x / np.where(ok, sd, 1), 0)
    n, m = z.shape
    sums = np.zeros(len(bins) - 1)
    counts = np.zeros(len(bins) - 1)
    for a in range(0, m, span):
        b = min(m, a + 2 * span)
        r = (z[:, a:b].T @ z[:, a:b]) / n
        d = np.abs(pos[a:b, None] - pos[None, a:b])
        iu = np.triu_indices(b - a, 1)
        keep = (iu[0] < min(span, b - a)) & ok[a:b][iu[0]] & ok[a:b][iu[1]]
        rr, dd = (r[iu] ** 2)[keep], d[iu][keep]
        k = np.digitize(dd, bins) - 1
        valid = (k >= 0) & (k < len(bins) - 1)
        np.add.at(sums, k[valid], rr[valid])
        np.add.at(counts, k[valid], 1)
    return sums / np.maximum(counts, 1)


def nn_hamming(a: np.ndarray, b: np.ndarray, same: bool = False) -> np.ndarray:
    """Distance of each row of ``a`` to its nearest row of ``b`` (L1 on dosages / m)."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    out = np.empty(len(a))
    for s in range(0, len(a), 256):
        d = np.abs(a[s : s + 256, None, :] - b[None]).sum(-1)
        if same:
            idx = np.arange(s, min(s + 256, len(a)))
            d[np.arange(len(idx)), idx] = np.inf
        out[s : s + 256] = d.min(1)
    return out / a.shape[1]


def aats(real: np.ndarray, synth: np.ndarray) -> float:
    n = min(len(real), len(synth))
    rng = np.random.default_rng(0)
    real = real[rng.choice(len(real), n, replace=False)]
    synth = synth[rng.choice(len(synth), n, replace=False)]
    d_rs = nn_hamming(real, synth)
    d_rr = nn_hamming(real, real, same=True)
    d_sr = nn_hamming(synth, real)
    d_ss = nn_hamming(synth, synth, same=True)
    return 0.5 * ((d_rs > d_rr).mean() + (d_sr > d_ss).mean())


def tstr(train_x, train_y, synth_x, synth_y, test_x, test_y) -> float:
    from sklearn.linear_model import LogisticRegression

    def acc(x, y):
        clf = LogisticRegression(max_iter=2000, C=0.1).fit(x, y)
        return clf.score(test_x, test_y)

    return acc(synth_x, synth_y) / acc(train_x, train_y)


def main() -> None:
    import anndata as ad
    import torch
    from sklearn.model_selection import train_test_split

    from synthomics.genotype_diffusion import GenotypeDiffusion

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/tmp/gd/ooa_200_2000.h5ad")
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    adata = ad.read_h5ad(args.data)
    y = adata.obs["population"].astype(str).to_numpy()
    tr, te = train_test_split(np.arange(adata.n_obs), test_size=0.25, random_state=0, stratify=y)
    train, test = adata[np.sort(tr)].copy(), adata[np.sort(te)].copy()
    gt, ge = np.asarray(train.X), np.asarray(test.X)
    yt, ye = (
        train.obs["population"].astype(str).to_numpy(),
        test.obs["population"].astype(str).to_numpy(),
    )
    pos = adata.var["pos"].to_numpy()
    bins = np.array([0, 1e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5])
    real_decay = r2_decay(ge, pos, bins)
    counts = test.obs["population"].astype(str).value_counts().to_dict()
    results = []
    for spec in args.variant:
        name, _, options = spec.partition("=")
        options = json.loads(options or "{}")
        t0 = time.perf_counter()
        model = GenotypeDiffusion(seed=0, progress=False, **options).fit(
            train, condition="population"
        )
        fit_s = time.perf_counter() - t0
        syn = model.sample(conditions={"population": counts}, seed=1)
        gs = np.asarray(syn.X)
        ys = syn.obs["population"].astype(str).to_numpy()
        af_r = np.corrcoef(gs.mean(0), ge.mean(0))[0, 1]
        diff = r2_decay(gs, pos, bins) - real_decay
        gap = np.abs(diff)
        copies = (nn_hamming(gs, gt) == 0).mean()
        a_tr, a_te = aats(gt, gs), aats(ge, gs)
        row = {
            "variant": name,
            "n_latent": model.fit_record_["n_latent"],
            "steps": model.fit_record_["steps"],
            "best_epoch": model.fit_record_["best_epoch"],
            "fit_s": round(fit_s, 1),
            "af_r": round(af_r, 4),
            "ld_gap_max": round(gap.max(), 4),
            "ld_diff_bins": [round(v, 3) for v in diff],
            "aats_train": round(a_tr, 3),
            "aats_test": round(a_te, 3),
            "privacy_loss": round(a_te - a_tr, 3),
            "copies": float(copies),
            "tstr": round(tstr(gt, yt, gs, ys, ge, ye), 3),
        }
        print(json.dumps(row), flush=True)
        results.append(row)
    print("real decay", np.round(real_decay, 3).tolist())
    if args.out:
        with open(args.out, "a") as fh:
            for row in results:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
