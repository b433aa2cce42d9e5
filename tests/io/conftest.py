"""Fixtures for the microbiome reader/writer tests: small files written in code."""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthomics.container import microbiome_anndata


@pytest.fixture
def write_text(tmp_path: Path) -> Callable[..., Path]:
    """Write ``text`` to ``tmp_path / name``; gzip/bzip2 it when the name ends so."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        data = text.encode("utf-8")
        if name.endswith(".gz"):
            data = gzip.compress(data)
        elif name.endswith(".bz2"):
            data = bz2.compress(data)
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def small_adata():
    """4 samples x 3 features of proportions with awkward floats, taxonomy and metadata."""
    rng = np.random.default_rng(7)
    X = rng.dirichlet(np.ones(3), size=4)
    X[0] = [0.1, 0.2, 0.7]  # 0.1 and 0.7 have no exact binary form
    X[1] = [1 / 3, 1 / 3, 1 - 2 / 3]
    taxonomy = pd.DataFrame(
        {
            "kingdom": ["Bacteria", "Bacteria", "Archaea"],
            "phylum": ["Firmicutes", "Bacteroidetes", np.nan],
            "lineage": ["k__Bacteria|p__Firmicutes", "k__Bacteria|p__Bacteroidetes", "k__Archaea"],
        },
        index=["OTU_1", "OTU_2", "OTU_3"],
    )
    obs = pd.DataFrame(
        {"age": [31.5, np.nan, 40.0, 2.0], "site": ["gut", "skin", np.nan, "gut"]},
        index=["S1", "S2", "S3", "S4"],
    )
    return microbiome_anndata(
        X, list(obs.index), list(taxonomy.index), units="proportion", taxonomy=taxonomy, obs=obs
    )
