"""Screens of the diffusion model's output step: depth models, read totals, evenness targets.

Each split of ``benchmarks/microbiome_c2st.py`` (same tables, splits and judging) fits the
default diffusion model once and samples it several ways, so that the variants of a split
differ only in the step screened:

``depths``
    the present shares drawn at 10^7 reads (nearly continuous), then rounded (MIDASim's
    rule) at depths that are: resampled training depths (``empirical``), the depth of one
    of the 5 nearest training samples in Hellinger distance (``knn``), a ridge regression
    of log depth on the Hellinger features plus a resampled residual (``ridge``); beside
    them log-normal depths (``lognormal``, the model's own draw with its previous default
    depth model) and ``midasim``.
``totals``
    the same shares and resampled depths, rounded three ways: ``rounded`` (MIDASim's rule),
    ``exact`` (largest remainders to exactly the depth, one read at least per present
    taxon, reads taken back from the taxa with the smallest remainders) or ``rescaled``
    (the model's ``depth_matched`` rule, now its default: MIDASim's rule at a depth
    rescaled twice by depth / total, so that the reads sum to about the depth).
``evenness``
    the shares before the evenness calibration, then ``shannon`` (the model's calibration),
    ``none``, ``sd`` (each sample raised to the power that moves its sd of log shares of
    present taxa, quantile to quantile, onto the training distribution) or ``half`` (the
    square root of that power).
``closest``
    a privacy filter: draws of four times the test size, from which the variant keeps the
    first test-size draws no closer (Hellinger) to a training sample than the 5 %, 10 % or
    20 % quantile of the training samples' distances to their nearest other training
    sample (``q05``, ``q10``, ``q20``; ``all`` keeps the first draws); judged with the
    privacy metrics, and the share of draws kept printed.

Run from the repository root, e.g.::

    OMP_NUM_THREADS=1 python benchmarks/microbiome_experiments/output_screens.py depths \\
        --datasets hmp_stool,hmp_tongue,hmp_plaque,hmp_buccal,twins --seeds 0 1 2 \\
        --out depth_models.csv

Rows: dataset, seed, variant (``generator``), metric, value (mean over ``--draws``).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import microbiome_c2st as bench
from shared_data import shared_dataset

METRICS = ("c2st", "c2st_presence", "c2st_abundance", "shannon_w1", "richness_w1")
PRIVACY_METRICS = ("mia_auc", "dcr_ratio")
QUANTILES = {"q05": 0.05, "q10": 0.1, "q20": 0.2}
FINE = 10**7
NEIGHBOURS = 5


def exact_counts(shares: np.ndarray, depths: np.ndarray) -> np.ndarray:
    """Reads summing to each depth (largest remainders), at least one per present taxon."""
    raw = shares * np.asarray(depths, dtype=np.float64)[:, None]
    counts = np.floor(raw)
    present = shares > 0
    counts[present & (counts < 1)] = 1
    remainder = np.where(present, raw - np.floor(raw), -np.inf)
    for i in range(len(shares)):
        gap = round(float(depths[i] - counts[i].sum()))
        if gap > 0:
            counts[i, np.argsort(-remainder[i])[:gap]] += 1
        while gap < 0:
            spare = np.flatnonzero(counts[i] > 1)
            if not len(spare):
                break
            take = spare[np.argsort(remainder[i][spare])][: -gap]
            counts[i, take] -= 1
            gap += len(take)
    return counts


def log_share_sd(P: np.ndarray) -> np.ndarray:
    """Per sample, the sd of the log shares of its present taxa (the diagnosis's summary)."""
    from synthomics.metrics.separation import sample_summaries

    return sample_summaries(P)["sd of log shares of present taxa"]


def powered(P: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Each row raised to its power and closed (the evenness calibration's operation)."""
    from synthomics.microbiome_diffusion.transform import _powered

    with np.errstate(divide="ignore"):
        return _powered(np.log(P), power)


def variants(screen: str, model: Any, train: Any, n: int, seed: int, draws: int) -> dict:
    """The synthetic sets (proportions of reads) of every variant of ``screen``."""
    from sklearn.linear_model import RidgeCV
    from sklearn.neighbors import NearestNeighbors

    from synthomics.generators import get_generator
    from synthomics.generators.library_size import (
        LibrarySizeModel,
        depth_matched_counts,
        presence_preserving_counts,
    )
    from synthomics.metrics.privacy import hellinger_features, nearest_neighbours

    counts = train.uns["units"] == "counts"
    depth = np.asarray(train.X).sum(axis=1)
    P_train = bench.proportions(train)
    evenness = model.evenness_

    def shares(size: int, draw_seed: int, even: bool = True) -> np.ndarray:
        model.evenness_ = evenness if even else None
        if not counts:
            return bench.proportions(model.sample(size, seed=draw_seed))
        fine = model.sample(size, seed=draw_seed, library_size=FINE).layers["counts"]
        fine = np.asarray(fine, dtype=np.float64)
        return fine / fine.sum(axis=1, keepdims=True)

    def reads(Q: np.ndarray, depths: np.ndarray) -> np.ndarray:
        if not counts:
            return Q
        c = presence_preserving_counts(Q, depths)
        return c / c.sum(axis=1, keepdims=True)

    sets: dict[str, list[np.ndarray]] = {}
    if screen == "depths":
        H, log_depth = hellinger_features(P_train), np.log(depth)
        ridge = RidgeCV(alphas=np.logspace(-2, 3, 12)).fit(H, log_depth)
        residual = log_depth - ridge.predict(H)
        nearest = NearestNeighbors(n_neighbors=NEIGHBOURS).fit(H)
        midasim = get_generator("midasim", seed=seed, progress=False).fit(train)
    elif screen == "evenness":
        generated = np.sort(log_share_sd(shares(2000, 999, even=False)))
        target = np.sort(log_share_sd(P_train))
    elif screen == "closest":
        H_train = hellinger_features(P_train)
        spacing = nearest_neighbours(H_train, H_train, exclude_self=True)[0]
        limits = {name: np.quantile(spacing, q) for name, q in QUANTILES.items()}
    for k in range(draws):
        draw_seed = seed + 1000 + k
        rng = np.random.default_rng(draw_seed)
        if screen == "depths":
            resampled = model.library_size_model_
            model.library_size_model_ = LibrarySizeModel.fit(depth, 0 * depth, 1, "lognormal")
            out = {"lognormal": bench.proportions(model.sample(n, seed=draw_seed))}
            model.library_size_model_ = resampled
            Q = shares(n, draw_seed)
            out["empirical"] = reads(Q, rng.choice(depth, n))
            found = nearest.kneighbors(hellinger_features(Q), return_distance=False)
            out["knn"] = reads(Q, depth[found[np.arange(n), rng.integers(0, NEIGHBOURS, n)]])
            predicted = ridge.predict(hellinger_features(Q)) + rng.choice(residual, n)
            out["ridge"] = reads(Q, np.maximum(1, np.rint(np.exp(predicted))).astype(np.int64))
            out["midasim"] = bench.proportions(midasim.sample(n, seed=draw_seed))
        elif screen == "closest":
            pool = bench.proportions(model.sample(4 * n, seed=draw_seed))
            closest = nearest_neighbours(hellinger_features(pool), H_train)[0]
            out = {"all": pool[:n]}
            for name, limit in limits.items():
                kept = closest >= limit
                print(f"{name}: {kept.mean():.3f} of {len(pool)} draws kept", flush=True)
                out[name] = pool[kept][:n]
        elif screen == "totals":
            Q, depths = shares(n, draw_seed), rng.choice(depth, n)
            exact = exact_counts(Q, depths)
            rescaled = depth_matched_counts(Q, depths)
            out = {
                "rounded": reads(Q, depths),
                "exact": exact / exact.sum(axis=1, keepdims=True),
                "rescaled": rescaled / rescaled.sum(axis=1, keepdims=True),
            }
        else:
            depths = rng.choice(depth, n)
            Q = shares(n, draw_seed, even=False)
            sd = log_share_sd(Q)
            rank = np.clip(np.searchsorted(generated, sd) / len(generated), 0, 1)
            power = np.where(sd > 0, np.quantile(target, rank) / np.maximum(sd, 1e-9), 1.0)
            out = {
                "shannon": reads(shares(n, draw_seed), depths),
                "none": reads(Q, depths),
                "sd": reads(powered(Q, power), depths),
                "half": reads(powered(Q, np.sqrt(power)), depths),
            }
        for name, Q in out.items():
            sets.setdefault(name, []).append(Q)
    model.evenness_ = evenness
    return sets


def run(task: tuple[str, str, int, int, str]) -> list[dict[str, Any]]:
    import torch

    from synthomics.generators import get_generator

    screen, dataset, seed, draws, cache = task
    torch.set_num_threads(1)
    adata = bench.load_dataset(dataset, Path(cache))
    train, test = bench.split(adata, shared_dataset(dataset).group, seed, 0.3)
    real, P_train = bench.proportions(test), bench.proportions(train)
    model = get_generator("diffusion", seed=seed, progress=False).fit(train)
    rows = []
    privacy = screen == "closest"
    metrics = METRICS + PRIVACY_METRICS if privacy else METRICS
    for name, sets in variants(screen, model, train, test.n_obs, seed, draws).items():
        judged = [
            bench.judge(real, Q, P_train, seed + bench.DRAW_SEED_STEP * k, privacy=privacy)
            for k, Q in enumerate(sets)
        ]
        rows += [
            {"dataset": dataset, "seed": seed, "generator": name, "metric": m,
             "value": float(np.mean([j[m] for j in judged]))}
            for m in metrics
        ]  # fmt: skip
        print(dataset, seed, name, f"c2st {rows[-len(metrics)]['value']:.3f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("screen", choices=("depths", "totals", "evenness", "closest"))
    parser.add_argument("--datasets", default="hmp_stool,hmp_tongue,hmp_plaque,hmp_buccal,twins")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "synthomics-benchmarks"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    datasets = [d for d in args.datasets.split(",") if d]
    for dataset in datasets:
        bench.load_dataset(dataset, Path(args.cache))
    tasks = [(args.screen, d, s, args.draws, args.cache) for s in args.seeds for d in datasets]
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for result in pool.map(run, tasks):
            rows += result
    pd.DataFrame(rows).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
