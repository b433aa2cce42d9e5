"""A tiny synthetic species table with a hidden group structure, for smoke tests and docs."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import microbiome_anndata


def synthetic_profiles(
    n_samples: int = 60,
    n_taxa: int = 30,
    *,
    n_groups: int = 2,
    seed: int = 0,
    units: str = "percent",
) -> ad.AnnData:
    """Sparse relative-abundance profiles from ``n_groups`` community types.

    Each group has its own Dirichlet mean over the taxa; each taxon is absent from a
    sample with a group-specific probability (10-70 %). Feature names are MetaPhlAn-style
    ``s__GenusK_speciesI``; ``obs["group"]`` holds the community type.

    Parameters
    ----------
    n_samples, n_taxa
        Table size.
    n_groups
        Number of community types.
    seed
        Random seed.
    units
        ``"percent"`` (rows sum to 100) or ``"proportion"`` (rows sum to 1).

    Returns
    -------
    anndata.AnnData
        Following :mod:`synthomics.container`.
    """
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, n_groups, size=n_samples)
    means = rng.dirichlet(np.full(n_taxa, 0.5), size=n_groups)
    absent = rng.uniform(0.1, 0.7, size=(n_groups, n_taxa))
    X = np.zeros((n_samples, n_taxa))
    for i, g in enumerate(groups):
        row = rng.dirichlet(means[g] * 20 + 1e-3)
        row[rng.random(n_taxa) < absent[g]] = 0.0
        if row.sum() == 0:
            row[int(np.argmax(means[g]))] = 1.0
        X[i] = row / row.sum()
    scale = 100.0 if units == "percent" else 1.0
    names = [f"s__Genus{j // 3}_species{j}" for j in range(n_taxa)]
    obs = pd.DataFrame(
        {"group": [f"type{g}" for g in groups]}, index=[f"sample{i}" for i in range(n_samples)]
    )
    return microbiome_anndata(
        X * scale,
        list(obs.index),
        names,
        units=units,  # type: ignore[arg-type]
        obs=obs,
    )
