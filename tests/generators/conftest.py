"""Fixtures of the generator tests: small tables made in code."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest

from synthomics.container import microbiome_anndata

FAST_CONFIG: dict[str, dict] = {
    # until the diffusion model declares its own ``fast_config``
    "diffusion": {
        "size": "tiny",
        "max_steps": 30,
        "poincare_epochs": 2,
        "sampling_steps": 5,
        "validation_every": 10,
    },
}
"""Overrides of a generator's ``fast_config`` (options for a quick fit on tiny tables)."""


def fast_config(name: str) -> dict:
    """Constructor options that keep generator ``name``'s fit short on the tiny tables."""
    from synthomics.generators import generator_class

    return {**generator_class(name).fast_config, **FAST_CONFIG.get(name, {})}


@pytest.fixture(scope="session")
def counts_table() -> ad.AnnData:
    """60 samples x 25 taxa of integer reads with a two-level ``group`` and a tree."""
    from synthomics.datasets import synthetic_microbiome

    return synthetic_microbiome(n_samples=60, n_taxa=25, seed=3)


@pytest.fixture(scope="session")
def proportion_table(counts_table: ad.AnnData) -> ad.AnnData:
    """The same table as relative abundances in percent (no reads, no library sizes)."""
    X = counts_table.X / counts_table.X.sum(axis=1, keepdims=True) * 100
    adata = microbiome_anndata(
        X,
        counts_table.obs_names,
        counts_table.var_names,
        units="percent",
        obs=counts_table.obs,
        taxonomy=counts_table.var,
    )
    return adata


def tiny_counts(n: int = 20, p: int = 6, seed: int = 0) -> ad.AnnData:
    """A hand-sized counts table with a ``disease`` column (IBD / control)."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(rng.gamma(1.0, 20.0, size=(n, p))).astype(float)
    X[X.sum(axis=1) == 0, 0] = 1
    obs_ids = [f"S{i}" for i in range(n)]
    import pandas as pd

    obs = pd.DataFrame(
        {"disease": ["IBD" if i % 3 == 0 else "control" for i in range(n)]}, index=obs_ids
    )
    return microbiome_anndata(X, obs_ids, [f"taxon_{j}" for j in range(p)], units="counts", obs=obs)
