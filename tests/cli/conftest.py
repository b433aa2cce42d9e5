"""Fixtures for the command-line tests: a typer runner and small files made in code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthomics.container import genotype_anndata


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def small_microbiome():
    from synthomics.datasets import synthetic_microbiome

    return synthetic_microbiome(n_samples=12, n_taxa=9, seed=3)


@pytest.fixture(scope="session")
def small_genotypes():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(6, 10))
    X[1, 2] = -1
    variants = pd.DataFrame(
        {
            "chrom": ["1"] * 6 + ["2"] * 4,
            "pos": np.arange(1, 11) * 1000,
            "id": [f"rs{i}" for i in range(10)],
            "ref": ["A"] * 10,
            "alt": ["C"] * 10,
        }
    )
    ids = [f"ind{i}" for i in range(6)]
    obs = pd.DataFrame({"population": ["P1", "P1", "P2", "P2", "P3", "P3"]}, index=ids)
    return genotype_anndata(X, ids, variants, obs=obs)
