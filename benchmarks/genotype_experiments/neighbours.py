"""What gives synthetic individuals away to the nearest-neighbour adversary (AATS).

Fits the default ``genotype_diffusion`` on one split of the benchmark simulation
(``genotype_generators.py``: ``ooa_sim``, 75/25 stratified), draws the test set's counts
per population and prints, on Hamming distances as :func:`synthomics.metrics.evaluate_genotypes`
uses them:

* the two halves of AATS against the test individuals: the share of real individuals whose
  nearest neighbour is real (``real_term``) and of synthetic ones whose nearest neighbour is
  synthetic (``synthetic_term``), with the mean nearest-neighbour distances behind them;
* the local fit: summed over consecutive segments of ``L`` variants, the squared Euclidean
  distance of each individual's segment to the nearest training individual's segment, for
  test and synthetic individuals (a ratio of 1 means synthetic segments are as close to
  some training individual's segment as real unseen ones).

    OMP_NUM_THREADS=1 python benchmarks/genotype_experiments/neighbours.py --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genotype_generators import load_dataset, split

from synthomics.generators import get_generator
from synthomics.metrics.genotype.distances import HammingNeighbours
from synthomics.metrics.privacy import nearest_neighbours


def halves(real: np.ndarray, synthetic: np.ndarray) -> dict[str, float]:
    """The two terms of AATS and the mean nearest-neighbour distances behind them."""
    search = HammingNeighbours({"R": real, "S": synthetic})
    d_rs, d_rr, d_sr, d_ss = search("R", "S"), search("R", "R"), search("S", "R"), search("S", "S")
    return {
        "aats": 0.5 * (float(np.mean(d_rs > d_rr)) + float(np.mean(d_sr > d_ss))),
        "real_term": float(np.mean(d_rs > d_rr)),
        "synthetic_term": float(np.mean(d_sr > d_ss)),
        "real_to_real": float(d_rr.mean()),
        "real_to_synthetic": float(d_rs.mean()),
        "synthetic_to_synthetic": float(d_ss.mean()),
    }


def local_distance(queries: np.ndarray, train: np.ndarray, length: int) -> float:
    """Mean over ``queries`` of the summed nearest-training distances² of their segments."""
    total = np.zeros(len(queries))
    for a in range(0, queries.shape[1], length):
        part = slice(a, a + length)
        total += nearest_neighbours(queries[:, part], train[:, part])[0] ** 2
    return float(total.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--options", default="{}", help="JSON options of genotype_diffusion")
    parser.add_argument(
        "--cache",
        default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "synthomics_genotype_bench"),
    )
    args = parser.parse_args()
    adata, label = load_dataset("ooa_sim", Path(args.cache) / "ooa_sim.h5ad")
    train, test = split(adata, label, args.seed, 0.25)
    model = get_generator(
        "genotype_diffusion", seed=args.seed, progress=False, **json.loads(args.options)
    ).fit(train, condition=label)
    counts = test.obs[label].astype(str).value_counts().to_dict()
    synthetic = np.asarray(model.sample(conditions={label: counts}, seed=args.seed + 1000).X)
    G_train, G_test = np.asarray(train.X), np.asarray(test.X)
    rng = np.random.default_rng(args.seed)
    train_subset = G_train[rng.choice(len(G_train), len(G_test), replace=False)]
    out = {
        "seed": args.seed,
        "synthetic_vs_test": halves(G_test, synthetic),
        "synthetic_vs_train": halves(train_subset, synthetic),
        "train_vs_test (floor)": halves(G_test, train_subset),
        "local": {},
    }
    reference = G_train.astype(np.float32)
    for length in (50, 200, 1000):
        test_d = local_distance(G_test.astype(np.float32), reference, length)
        synth_d = local_distance(synthetic.astype(np.float32), reference, length)
        out["local"][length] = {"test": test_d, "synthetic": synth_d, "ratio": synth_d / test_d}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
