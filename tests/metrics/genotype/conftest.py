"""Simulated genotypes shared by the genotype metric tests (msprime, three populations)."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.datasets.genotype_sim import simulate_genotypes


@pytest.fixture(scope="session")
def simulated():
    """3 x 40 individuals (YRI/CEU/CHB) x 300 variants, seed 1."""
    return simulate_genotypes(40, 300, seed=1)


@pytest.fixture(scope="session")
def split(simulated):
    """(train 60, test 60) individuals, stratified by nothing, seeded."""
    order = np.random.default_rng(0).permutation(simulated.n_obs)
    return simulated[np.sort(order[:60])].copy(), simulated[np.sort(order[60:])].copy()
