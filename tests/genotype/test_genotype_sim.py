"""The msprime/stdpopsim genotype simulator: shapes, labels, seeds, population structure."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from synthomics.datasets import simulate_genotypes
from synthomics.errors import InputError
from synthomics.preprocessing.genotype import allele_frequencies, to_dosage

POPULATIONS = ("YRI", "CEU", "CHB")


@pytest.fixture(scope="module")
def simulated():
    return simulate_genotypes(30, 200, seed=4)


def test_shapes_labels_and_variants(simulated):
    adata = simulated
    assert adata.shape == (90, 200)
    assert adata.obs["population"].tolist() == [p for p in POPULATIONS for _ in range(30)]
    assert list(adata.obs["population"].cat.categories) == list(POPULATIONS)
    assert adata.obs_names[0] == "YRI_01" and adata.obs_names[-1] == "CHB_30"
    assert adata.uns["layout"] == "dosage" and adata.uns["ploidy"] == 2
    assert adata.uns["label_column"] == "population"
    assert set(np.unique(adata.X)) <= {0, 1, 2}
    pos = adata.var["pos"].to_numpy()
    assert (np.diff(pos) > 0).all() and pos[0] >= 1
    assert pos[-1] <= adata.uns["simulation"]["sequence_length"]
    assert set(adata.var["ref"]) | set(adata.var["alt"]) <= set("ACGT")
    assert (adata.var["ref"] != adata.var["alt"]).all()
    p = allele_frequencies(adata).to_numpy()
    assert (np.minimum(p, 1 - p) >= 0.01).all()


def test_seed_reproducibility(simulated):
    again = simulate_genotypes(30, 200, seed=4)
    np.testing.assert_array_equal(again.X, simulated.X)
    assert again.var.equals(simulated.var)
    other = simulate_genotypes(30, 200, seed=5)
    assert not np.array_equal(other.X, simulated.X)


def test_phased_layout_sums_to_the_dosages(simulated):
    phased = simulate_genotypes(30, 200, seed=4, phased=True)
    assert phased.shape == (180, 200)
    assert phased.uns["layout"] == "haplotype"
    assert phased.obs["haplotype"].tolist()[:4] == [0, 1, 0, 1]
    summed = to_dosage(phased)
    np.testing.assert_array_equal(summed.X, simulated.X)
    assert summed.obs["population"].tolist() == simulated.obs["population"].tolist()


def test_population_structure():
    """Frequencies differ more between populations than between two halves of one, and
    Hudson's FST (scikit-allel) between YRI and CHB is clearly positive.

    With 100 individuals per population the half-vs-half difference is about 0.03 and
    YRI vs CEU/CHB about 0.1-0.2 (seeds 0-5 checked by hand).
    """
    allel = pytest.importorskip("allel")
    adata = simulate_genotypes(100, 400, seed=8, phased=True)
    pops = adata.obs["population"].to_numpy()
    X = adata.X.astype(float)
    freq = {p: X[pops == p].mean(axis=0) for p in POPULATIONS}
    yri = X[pops == "YRI"]  # 200 haplotype rows; halves = individuals 1-50 and 51-100
    within = np.abs(yri[:100].mean(axis=0) - yri[100:].mean(axis=0)).mean()
    assert np.abs(freq["YRI"] - freq["CHB"]).mean() > 2 * within
    assert np.abs(freq["YRI"] - freq["CEU"]).mean() > 2 * within
    g = X.reshape(-1, 2, X.shape[1]).transpose(2, 0, 1).astype(int)  # variants x ind x 2
    ind_pops = pops[0::2]
    ac = {
        p: allel.GenotypeArray(g[:, ind_pops == p]).count_alleles(max_allele=1) for p in POPULATIONS
    }
    num, den = allel.hudson_fst(ac["YRI"], ac["CHB"])
    assert 0.05 < num.sum() / den.sum() < 0.5  # human continental FST is ~0.1-0.2


def test_uneven_populations_and_subset():
    adata = simulate_genotypes({"CEU": 5, "CHB": 8}, 50, populations=("CEU", "CHB"), seed=1)
    assert adata.obs["population"].value_counts().to_dict() == {"CHB": 8, "CEU": 5}
    assert adata.obs_names[0] == "CEU_1"


def test_nothing_is_downloaded(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the simulator tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert simulate_genotypes(3, 10, seed=2).shape == (9, 10)


def test_bad_arguments():
    with pytest.raises(InputError, match="population 'XYZ' is not sampled"):
        simulate_genotypes(3, 10, populations=("YRI", "XYZ"))
    with pytest.raises(InputError, match="not in catalog"):
        simulate_genotypes(3, 10, model="NoSuchModel")
    with pytest.raises(InputError, match="give a longer sequence_length"):
        simulate_genotypes(3, 500, sequence_length=1_000, seed=1)
    with pytest.raises(InputError, match="maf"):
        simulate_genotypes(3, 10, maf=0.6)
