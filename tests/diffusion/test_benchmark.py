"""The paired microbiome benchmark (benchmarks/microbiome_c2st.py): one split's metrics."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load_benchmark():
    """The benchmark module, read from the benchmarks folder (it is not part of the package)."""
    sys.path.insert(0, str(BENCHMARKS))  # for its helper module shared_data
    try:
        spec = importlib.util.spec_from_file_location(
            "microbiome_c2st", BENCHMARKS / "microbiome_c2st.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def _communities(rng, n, n_taxa=40):
    """Proportions of two communities, each with its own half of the taxa mostly present."""
    community = rng.random(n) < 0.5
    half = np.arange(n_taxa) < n_taxa // 2
    rate = np.where(community[:, None] == half[None, :], 0.8, 0.1)
    X = (rng.random((n, n_taxa)) < rate) * rng.lognormal(0, 1, (n, n_taxa))
    X[X.sum(axis=1) == 0, 0] = 1.0
    return X / X.sum(axis=1, keepdims=True)


def test_judge_reports_presence_coherence_beside_c2st():
    B = _load_benchmark()
    rng = np.random.default_rng(0)
    train, real, alike = (_communities(rng, n) for n in (300, 120, 120))
    # the same taxa, each present at its rate, but independently of the others
    independent = np.column_stack([rng.permutation(column) for column in alike.T])
    independent[independent.sum(axis=1) == 0, 0] = 1.0
    independent /= independent.sum(axis=1, keepdims=True)
    good = B.judge(real, alike, train, seed=0, privacy=False)
    bad = B.judge(real, independent, train, seed=0, privacy=False)
    assert set(B.METRICS) - {"fit_seconds", "sample_seconds"} == set(good)
    assert abs(good["presence_coherence"]) < 1.5
    assert bad["presence_coherence"] < good["presence_coherence"] - 3
    assert bad["c2st_presence"] > good["c2st_presence"]


def test_split_caps_the_training_samples():
    import anndata as ad

    B = _load_benchmark()
    adata = ad.AnnData(np.ones((200, 3)))
    adata.obs["subject"] = [f"s{i // 2}" for i in range(200)]
    train, test = B.split(adata, "subject", 0, 0.3, max_train=50)
    assert train.n_obs == 50 and test.n_obs == 60
    assert not set(train.obs["subject"]) & set(test.obs["subject"])
    again, _ = B.split(adata, "subject", 0, 0.3, max_train=50)
    assert list(again.obs_names) == list(train.obs_names)
    full, _ = B.split(adata, "subject", 0, 0.3)
    assert full.n_obs == 140 and set(train.obs_names) <= set(full.obs_names)
