"""Pulling drawn window latents toward the training clusters (``sharpen``), and why.

Fits ``genotype_diffusion`` without the pull (``sharpen=0``) on one split of the benchmark
simulation (``genotype_generators.py``: ``ooa_sim``, 75/25 stratified), draws as many
latents per population as the training set holds, and prints one JSON line per variant
with the benchmark's metrics (:func:`synthomics.metrics.evaluate_genotypes`):

* ``none``: the draws decoded as they are (the model without the pull);
* ``centres{C}_{share}``: each window moved ``share`` of the way toward the nearest of at
  most ``C`` k-means centres of its population's training latents
  (:class:`synthomics.genotype_diffusion.centres.WindowCentres`; the model's ``sharpen``
  and ``sharpen_centres``);
* ``neighbours{k}_{share}``: the same toward the mean of the ``k`` nearest training
  latents (which would make the model store its training individuals).

The decoder is recalibrated on pulled draws for every variant, as the model does. First
it prints the adversarial accuracy in the latent space itself (Euclidean, whole latent
and the mean over windows), of the draws and of training individuals against the test
individuals: where the draws already stand out before any decoding.

    OMP_NUM_THREADS=1 python benchmarks/genotype_experiments/sharpen.py --seed 0

With ``--small-panel N`` it instead fits the model with and without the pull
(``sharpen=0.5`` and 0) on the panel of ``run_sim.md`` (``simulate_genotypes(N, 2000,
seed=11)``, 70/30 stratified split by seed, as many draws per population as training
individuals) and prints the same metrics for both:

    OMP_NUM_THREADS=1 python benchmarks/genotype_experiments/sharpen.py --small-panel 150 --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genotype_generators import load_dataset, split

from synthomics.generators.conditions import condition_codes
from synthomics.genotype_diffusion import GenotypeDiffusion
from synthomics.genotype_diffusion.centres import WindowCentres
from synthomics.genotype_diffusion.thresholds import GenotypeThresholds
from synthomics.metrics import evaluate_genotypes
from synthomics.metrics.privacy import NeighbourSearch, adversarial_accuracy_from

METRICS = (
    "ld_decay_max_gap",
    "heterozygosity_wasserstein",
    "allele_frequency_pearson",
    "aats_test",
    "aats_train",
    "privacy_loss",
    "membership_inference_auc",
    "dcr_ratio",
    "exact_copies",
    "tstr_ratio_logistic",
)


def latent_aats(real: np.ndarray, other: np.ndarray) -> float:
    """Adversarial accuracy of ``other`` against ``real`` on Euclidean distances."""
    return adversarial_accuracy_from(NeighbourSearch({"R": real, "S": other}), "R", "S")


def neighbour_pull(model, latents, codes, train_latents, train_codes, k, share):
    """Each window moved ``share`` of the way to the mean of its ``k`` nearest training
    latents of the same population."""
    from sklearn.neighbors import NearestNeighbors

    offsets, out = model.transform_.offsets, latents.copy()
    for i in range(len(offsets) - 1):
        o, p = int(offsets[i]), int(offsets[i + 1])
        for level in np.unique(codes):
            rows, pool = codes == level, train_latents[train_codes == level, o:p]
            index = NearestNeighbors(n_neighbors=k).fit(pool).kneighbors(latents[rows, o:p])[1]
            out[rows, o:p] += share * (pool[index].mean(axis=1) - latents[rows, o:p])
    return out


def small_panel(individuals: int, seed: int) -> None:
    """The model with and without the pull on a small simulated panel (see the module)."""
    from synthomics.datasets import simulate_genotypes

    label = "population"
    train, test = split(simulate_genotypes(individuals, 2000, seed=11), label, seed, 0.3)
    counts = train.obs[label].astype(str).value_counts().to_dict()
    synthetic = {}
    for name, share in (("sharpen", 0.5), ("no_sharpen", 0.0)):
        model = GenotypeDiffusion(seed=seed, sharpen=share, progress=False)
        model.fit(train, condition=label)
        synthetic[name] = model.sample(conditions={label: counts}, seed=seed + 1000)
    result = evaluate_genotypes(
        test, synthetic, train=train, label=label, seed=seed, names=list(synthetic)
    )
    for name in synthetic:
        row = {m: round(float(result.value(name, m)), 4) for m in METRICS}
        print(json.dumps({"seed": seed, "panel": individuals, "variant": name, **row}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shares", default="0.5,0.7")
    parser.add_argument("--centres", default="32,64,128")
    parser.add_argument("--neighbours", default="5,10")
    parser.add_argument("--cache", default="/tmp/synthomics_genotype_bench")
    parser.add_argument("--small-panel", type=int, default=None, metavar="N")
    args = parser.parse_args()
    if args.small_panel:
        small_panel(args.small_panel, args.seed)
        return
    adata, label = load_dataset("ooa_sim", Path(args.cache) / "ooa_sim.h5ad")
    train, test = split(adata, label, args.seed, 0.25)
    model = GenotypeDiffusion(seed=args.seed, sharpen=0.0, progress=False)
    model.fit(train, condition=label)
    transform, levels = model.transform_, model.n_groups
    genotypes = np.asarray(train.X).astype(np.int8)
    train_codes, _ = condition_codes(train, label)
    test_codes, _ = condition_codes(test, label)
    train_latents = transform.encode(genotypes)
    rng = np.random.default_rng(args.seed + 1000)

    # where the draws stand out: adversarial accuracy in the latent space
    test_latents = transform.encode(np.asarray(test.X).astype(np.int8))
    drawn = model._latents(test_codes, rng)
    subset = rng.choice(len(train_latents), len(test_latents), replace=False)
    windows = [
        (
            latent_aats(test_latents[:, o:p], drawn[:, o:p]),
            latent_aats(test_latents[:, o:p], train_latents[subset, o:p]),
        )
        for o, p in zip(transform.offsets[:-1], transform.offsets[1:], strict=True)
    ]
    print(
        json.dumps(
            {
                "seed": args.seed,
                "latent_aats_draws": round(latent_aats(test_latents, drawn), 4),
                "latent_aats_training_individuals": round(
                    latent_aats(test_latents, train_latents[subset]), 4
                ),
                "window_latent_aats_draws": round(float(np.mean([w[0] for w in windows])), 4),
                "window_latent_aats_training_individuals": round(
                    float(np.mean([w[1] for w in windows])), 4
                ),
            }
        ),
        flush=True,
    )

    sizes = np.bincount(train_codes, minlength=levels)
    codes = np.repeat(np.arange(levels), sizes)
    latents = model._latents(codes, rng)
    calibration = [
        model._latents(np.full(max(int(model.calibration_samples), int(n)), level), rng)
        for level, n in enumerate(sizes)
    ]
    frequencies = GenotypeThresholds.level_frequencies(
        genotypes, train_codes, levels, 2, float(model.threshold_prior)
    )
    shares = [float(s) for s in args.shares.split(",") if s]
    pulls = {"none": lambda z, c: z}
    for n_centres in (int(c) for c in args.centres.split(",") if c):
        fitted = WindowCentres.fit(
            train_latents, train_codes, levels, transform.offsets, n_centres, seed=args.seed
        )
        for share in shares:
            pulls[f"centres{n_centres}_{share}"] = lambda z, c, f=fitted, s=share: f.pull(z, c, s)
    for k in (int(k) for k in args.neighbours.split(",") if k):
        for share in shares:
            pulls[f"neighbours{k}_{share}"] = lambda z, c, k=k, s=share: neighbour_pull(
                model, z, c, train_latents, train_codes, k, s
            )
    synthetic = {}
    for name, pull in pulls.items():
        scores = [
            transform.decode(pull(z, np.full(len(z), level)), 0, transform.n_variants)
            for level, z in enumerate(calibration)
        ]
        thresholds = GenotypeThresholds.calibrate(scores, frequencies)
        decoded = thresholds.decode(
            transform.decode(pull(latents, codes), 0, transform.n_variants), codes
        )
        out = train[np.argsort(train_codes, kind="stable")].copy()  # labels in ``codes`` order
        out.X = decoded
        out.obs_names = [f"synthetic_{i}" for i in range(len(decoded))]
        synthetic[name] = out
    result = evaluate_genotypes(
        test, synthetic, train=train, label=label, seed=args.seed, names=list(synthetic)
    )
    for name in synthetic:
        row = {m: round(float(result.value(name, m)), 4) for m in METRICS}
        print(json.dumps({"seed": args.seed, "variant": name, **row}), flush=True)


if __name__ == "__main__":
    main()
