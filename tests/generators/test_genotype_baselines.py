"""Genotype baselines: allele_frequency, haplotype_copying and genotype_bootstrap.

Expected values come from the models' definitions (binomial standard deviations of
frequencies, geometric run lengths of Li & Stephens' jump process, Li & Stephens' miscopy
formula evaluated by hand) and from the training data itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.container import genotype_anndata
from synthomics.errors import InputError
from synthomics.generators import available_generators, get_generator, load_generator
from synthomics.generators.haplotype_copying import copying_paths, li_stephens_miscopy

GENOTYPE_BASELINES = ("allele_frequency", "haplotype_copying", "genotype_bootstrap")
LEVELS = {"YRI": 30, "CEU": 20, "CHB": 10}


@pytest.fixture(scope="module")
def dosages():
    from synthomics.datasets.genotype_sim import simulate_genotypes

    return simulate_genotypes(40, 400, seed=7)


@pytest.fixture(scope="module")
def haplotypes():
    from synthomics.datasets.genotype_sim import simulate_genotypes

    return simulate_genotypes(40, 400, seed=7, phased=True)


def _adjacent_r2(X: np.ndarray) -> float:
    """Mean squared Pearson correlation of adjacent variants (NumPy's corrcoef per pair)."""
    X = X.astype(float)
    values = [
        np.corrcoef(X[:, j], X[:, j + 1])[0, 1] ** 2
        for j in range(X.shape[1] - 1)
        if X[:, j].std() > 0 and X[:, j + 1].std() > 0
    ]
    return float(np.mean(values))


# --------------------------------------------------------------------------- the contract


def test_registered_with_hyphenated_lookup():
    registered = available_generators(omics="genotype")
    assert set(GENOTYPE_BASELINES) <= set(registered)
    assert get_generator("allele-frequency").name == "allele_frequency"
    assert get_generator("haplotype-copying", ne=5000).ne == 5000
    with pytest.raises(InputError, match="unknown generator"):
        get_generator("allele-frequencies")


@pytest.mark.parametrize("name", GENOTYPE_BASELINES)
@pytest.mark.parametrize("layout", ["dosage", "haplotype"])
def test_contract(name, layout, dosages, haplotypes, tmp_path):
    train = dosages if layout == "dosage" else haplotypes
    model = get_generator(name, seed=3).fit(train, condition="population")
    conditions = {"population": LEVELS}
    out = model.sample(conditions=conditions, seed=5)
    X = np.asarray(out.X)
    assert out.shape == (60, train.n_vars)
    assert X.dtype == np.int8
    assert set(np.unique(X)) <= ({0, 1, 2} if layout == "dosage" else {0, 1})
    assert out.obs["population"].value_counts().to_dict() == LEVELS
    assert out.var[["chrom", "pos", "id", "ref", "alt"]].equals(
        train.var[["chrom", "pos", "id", "ref", "alt"]]
    )
    assert out.uns["layout"] == layout
    assert out.uns["privacy_worst_case"] is (name == "genotype_bootstrap")
    if layout == "haplotype":  # two haplotypes of one level per synthetic individual
        per_individual = out.obs.groupby("individual", observed=True)["population"]
        assert (per_individual.size() == 2).all() and (per_individual.nunique() == 1).all()
    # seeded, and save/load gives the same draw
    again = model.sample(conditions=conditions, seed=5)
    np.testing.assert_array_equal(X, again.X)
    assert not np.array_equal(X, model.sample(conditions=conditions, seed=6).X)
    loaded = load_generator(model.save(tmp_path / name))
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(X, loaded.sample(conditions=conditions, seed=5).X)


@pytest.mark.parametrize("name", GENOTYPE_BASELINES)
def test_bad_value_names_row_and_variant(name):
    X = np.zeros((4, 3), dtype=np.int8)
    variants = pd.DataFrame(
        {"chrom": "1", "pos": [10, 20, 30], "id": ["a", "b", "c"], "ref": "A", "alt": "G"}
    )
    adata = genotype_anndata(X, ["i0", "i1", "i2", "i3"], variants)
    X[2, 1] = 3  # set after the container check, as a hand-built AnnData could hold it
    adata.X = X
    with pytest.raises(InputError, match=r"row 'i2', variant 'b'"):
        get_generator(name).fit(adata)


def test_missing_calls_are_filled(dosages):
    train = dosages.copy()
    X = np.asarray(train.X).copy()
    X[:, 0] = -1  # a variant with no calls at all: uniform frequencies
    X[::3, 5] = -1
    train.X = X
    for name in GENOTYPE_BASELINES:
        out = get_generator(name).fit(train).sample(200, seed=1)
        assert (np.asarray(out.X) >= 0).all()


# --------------------------------------------------------------------------- allele_frequency


@pytest.mark.parametrize("hardy_weinberg", [False, True])
def test_allele_frequencies_per_level(dosages, hardy_weinberg):
    model = get_generator("allele_frequency", hardy_weinberg=hardy_weinberg, seed=1)
    model.fit(dosages, condition="population")
    n = 2000
    out = model.sample(conditions={"population": {"YRI": n, "CHB": n}}, seed=2)
    for level in ("YRI", "CHB"):
        train = np.asarray(dosages.X)[(dosages.obs["population"] == level).to_numpy()]
        k = len(train)
        p_train = (train.sum(axis=0) + 0.5) / (2 * k + 1)  # Jeffreys pseudocount on alleles
        synthetic = np.asarray(out.X)[(out.obs["population"] == level).to_numpy()]
        p_syn = synthetic.mean(axis=0) / 2
        # binomial sd of an allele frequency from 2n alleles; the genotype-class pseudocount
        # shifts p by at most 1.5 * 0.5 / (k + 1.5) when HWE is off
        sd = np.sqrt(p_train * (1 - p_train) / (2 * n))
        bias = 0.0 if hardy_weinberg else 0.75 / (k + 1.5)
        assert np.all(np.abs(p_syn - p_train) <= 5 * sd + bias + 1e-9)
    if hardy_weinberg:  # heterozygosity 2p(1-p) under HWE, at n = 2000 per level
        het = (synthetic == 1).mean(axis=0)
        p = synthetic.mean(axis=0) / 2
        assert np.abs(het - 2 * p * (1 - p)).mean() < 0.02


def test_pseudocount_zero_keeps_fixed_variants_fixed():
    X = np.array([[0, 2], [0, 1], [0, 0], [0, 2]], dtype=np.int8)
    variants = pd.DataFrame({"chrom": "1", "pos": [1, 2], "id": ["a", "b"], "ref": "A", "alt": "C"})
    adata = genotype_anndata(X, ["i0", "i1", "i2", "i3"], variants)
    out = get_generator("allele_frequency", pseudocount=0).fit(adata).sample(500, seed=0)
    assert (np.asarray(out.X)[:, 0] == 0).all()
    # observed frequencies 1/4, 1/4, 1/2 (hand count); 5 binomial sds at n = 500
    freq = np.bincount(np.asarray(out.X)[:, 1], minlength=3) / 500
    np.testing.assert_allclose(freq, [0.25, 0.25, 0.5], atol=5 * np.sqrt(0.25 / 500))
    smoothed = get_generator("allele_frequency").fit(adata).sample(2000, seed=0)
    assert (np.asarray(smoothed.X)[:, 0] > 0).any()


# --------------------------------------------------------------------------- haplotype_copying


def test_li_stephens_miscopy_by_hand():
    # K = 3: theta = 1 / (1 + 1/2) = 2/3; theta / (2 (3 + 2/3)) = (2/3) / (22/3) = 1/11
    assert li_stephens_miscopy(3) == pytest.approx(1 / 11)
    assert li_stephens_miscopy(1) == 0.0


def test_no_switch_no_miscopy_copies_training_haplotypes(haplotypes):
    model = get_generator("haplotype_copying", switch_rate_per_variant=0, miscopy_rate=0)
    model.fit(haplotypes, condition="population")
    out = model.sample(conditions={"population": {"CEU": 40}}, seed=3)
    train = np.asarray(haplotypes.X)[(haplotypes.obs["population"] == "CEU").to_numpy()]
    training_rows = {row.tobytes() for row in train}
    assert all(row.tobytes() in training_rows for row in np.asarray(out.X))


def test_run_lengths_follow_the_jump_probability():
    rng = np.random.default_rng(0)
    k, p, m = 10, 0.3, 2000
    paths = copying_paths(50, np.full(m - 1, p), k, rng)
    # a jump lands on another template with probability p (K - 1) / K: geometric runs
    changes = (np.diff(paths, axis=1) != 0).sum()
    mean_run = paths.size / (changes + paths.shape[0])
    expected = 1 / (p * (k - 1) / k)
    assert mean_run == pytest.approx(expected, rel=0.05)
    assert paths.min() >= 0 and paths.max() < k


def test_switch_probability_from_positions(dosages):
    model = get_generator("haplotype_copying", ne=10_000, recombination_rate=1e-8)
    model.fit(dosages)
    d = np.diff(dosages.var["pos"].to_numpy().astype(float))
    # 1 - exp(-4 Ne r d / K) with K = 120 individuals
    np.testing.assert_allclose(model.switch_probabilities(120), 1 - np.exp(-4e-4 * d / 120))


def test_high_switch_rate_copies_only_short_stretches(dosages):
    model = get_generator("haplotype_copying", switch_rate_per_variant=40.0, seed=2)
    model.fit(dosages, condition="population")
    train = np.asarray(dosages.X)
    out = model.sample(conditions={"population": {"YRI": 40, "CEU": 40, "CHB": 40}}, seed=1)
    # with p = 1 - exp(-40 / 40) = 0.63 per variant, no long real stretches are copied:
    # the longest exact match of a synthetic row with any training row is short
    X = np.asarray(out.X)
    longest = 0
    for row in X[:10]:
        match = (train == row).astype(int)
        run = np.zeros(len(train), dtype=int)
        for j in range(X.shape[1]):
            run = (run + 1) * match[:, j]
            longest = max(longest, int(run.max()))
    assert longest < 60


def test_copying_keeps_ld_better_than_independent_frequencies(haplotypes):
    from synthomics.preprocessing.genotype import to_dosage

    train_r2 = _adjacent_r2(np.asarray(to_dosage(haplotypes).X))
    r2 = {}
    for name in ("allele_frequency", "haplotype_copying"):
        model = get_generator(name, seed=0).fit(haplotypes, condition="population")
        out = model.sample(conditions={"population": {"YRI": 80, "CEU": 80, "CHB": 80}}, seed=1)
        r2[name] = _adjacent_r2(np.asarray(to_dosage(out).X))
    assert abs(r2["haplotype_copying"] - train_r2) < 0.25 * train_r2
    assert r2["allele_frequency"] < 0.3 * train_r2


def test_positions_required_without_switch_rate():
    X = np.zeros((4, 2), dtype=np.int8)
    variants = pd.DataFrame({"chrom": "1", "pos": [1, 2], "id": ["a", "b"], "ref": "A", "alt": "C"})
    adata = genotype_anndata(X, ["i0", "i1", "i2", "i3"], variants)
    adata.var["pos"] = ["unknown", "unknown"]  # e.g. a hand-built container without positions
    with pytest.raises(InputError, match="switch_rate_per_variant"):
        get_generator("haplotype_copying").fit(adata)
    get_generator("haplotype_copying", switch_rate_per_variant=0.1).fit(adata)


# --------------------------------------------------------------------------- genotype_bootstrap


def test_bootstrap_rows_are_training_rows_of_their_level(dosages):
    model = get_generator("genotype_bootstrap").fit(dosages, condition="population")
    out = model.sample(conditions={"population": {"YRI": 25, "CHB": 25}}, seed=0)
    X = np.asarray(dosages.X)
    for row, level in zip(np.asarray(out.X), out.obs["population"], strict=True):
        own = X[(dosages.obs["population"] == level).to_numpy()]
        assert (own == row).all(axis=1).any()
