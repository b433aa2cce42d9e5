"""Tests of synthomics.datasets.synthetic_microbiome.

Checks the container conventions, reproducibility, and the properties the generator
promises: taxa are clades of the tree (checked with scikit-bio's lowest common ancestor),
lineages agree with the rank columns, subjects stay in one group, dropout adds zeros and
group effects shift abundances.
"""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.container import RANKS
from synthomics.datasets import synthetic_microbiome
from synthomics.errors import InputError
from synthomics.io.taxonomy import parse_lineage
from synthomics.io.tree import tree_from_newick
from synthomics.preprocessing import clr_transform


@pytest.fixture(scope="module")
def adata():
    return synthetic_microbiome(n_samples=60, n_taxa=40, seed=1)


def test_container_conventions(adata):
    assert adata.shape == (60, 40)
    assert adata.X.dtype == np.float64
    assert adata.uns["omics"] == "microbiome"
    assert adata.uns["units"] == "counts"
    assert np.all(adata.X >= 0)
    np.testing.assert_array_equal(adata.X, np.round(adata.X))
    assert np.all(adata.X.sum(axis=1) > 0)
    assert list(adata.var.columns[:7]) == list(RANKS[:7])
    assert adata.var["on_tree"].all()
    assert adata.uns["synthetic"]["seed"] == 1


def test_defaults_are_small_and_seeded():
    a = synthetic_microbiome()
    assert a.shape == (100, 50)
    np.testing.assert_array_equal(a.X, synthetic_microbiome().X)
    assert a.uns["tree"] == synthetic_microbiome().uns["tree"]
    assert not np.array_equal(a.X, synthetic_microbiome(seed=1).X)


def test_tree_tips_are_the_features(adata):
    tree = tree_from_newick(adata.uns["tree"])
    tips = [t.name for t in tree.tips()]
    assert sorted(tips) == sorted(adata.var_names)
    # every branch but the root's has a positive length; the tree is binary
    for node in tree.traverse(include_self=False):
        assert node.length is not None and node.length > 0
        assert node.is_tip() or len(node.children) == 2


@pytest.mark.parametrize("rank", ["phylum", "class", "order", "family", "genus"])
def test_every_taxon_is_a_clade(adata, rank):
    tree = tree_from_newick(adata.uns["tree"])
    for name, members in adata.var.groupby(rank, observed=True).groups.items():
        members = sorted(members)
        ancestor = tree.lca(members)
        assert sorted(t.name for t in ancestor.tips(include_self=True)) == members, (rank, name)


def test_lineages_agree_with_rank_columns(adata):
    for feature, row in adata.var.iterrows():
        parsed = parse_lineage(row["lineage"])
        assert parsed == {r: row[r] for r in RANKS[:7]}, feature
    # species names are unique, every species sits in one genus
    assert adata.var["species"].is_unique
    assert (adata.var.groupby("species")["genus"].nunique() == 1).all()


def test_groups_and_subjects(adata):
    obs = adata.obs
    assert sorted(obs["group"].unique()) == ["group_0", "group_1"]
    assert obs["group"].value_counts().to_dict() == {"group_0": 30, "group_1": 30}
    assert (obs.groupby("subject", observed=True)["group"].nunique() == 1).all()
    assert (obs["subject"].value_counts() == 2).all()


def test_more_groups_and_subject_sizes():
    a = synthetic_microbiome(n_samples=31, n_taxa=6, n_groups=4, samples_per_subject=3, seed=2)
    assert a.obs["group"].nunique() == 4
    assert a.obs["subject"].nunique() == 11  # ceil(31 / 3)


def test_dropout_adds_zeros():
    kwargs = {"n_samples": 200, "n_taxa": 30, "seed": 4}
    none = (synthetic_microbiome(dropout=0.0, **kwargs).X == 0).mean()
    half = (synthetic_microbiome(dropout=0.5, **kwargs).X == 0).mean()
    most = (synthetic_microbiome(dropout=0.8, **kwargs).X == 0).mean()
    assert none < half < most
    assert 0.4 <= half <= 0.75


def test_group_effect_shifts_abundances():
    kwargs = {"n_samples": 200, "n_taxa": 30, "dropout": 0.0, "seed": 6}

    def largest_shift(effect):
        a = synthetic_microbiome(group_effect=effect, **kwargs)
        values = clr_transform(a.X, pseudocount=1.0)
        in_g1 = (a.obs["group"] == "group_1").to_numpy()
        return np.abs(values[in_g1].mean(axis=0) - values[~in_g1].mean(axis=0)).max()

    assert largest_shift(0.0) < 0.6
    assert largest_shift(3.0) > 2.0


def test_depth_follows_depth_mean():
    a = synthetic_microbiome(n_samples=300, n_taxa=20, dropout=0.0, depth_mean=5000, seed=8)
    assert 3500 < np.median(a.X.sum(axis=1)) < 7000


def test_tiny_tables():
    a = synthetic_microbiome(n_samples=1, n_taxa=2, dropout=0.9, seed=0)
    assert a.shape == (1, 2)
    assert a.X.sum() > 0


@pytest.mark.parametrize(
    "kwargs",
    [{"n_taxa": 1}, {"n_samples": 0}, {"dropout": 1.0}, {"n_groups": 0}, {"dispersion": 0}],
)
def test_rejects_bad_arguments(kwargs):
    with pytest.raises(InputError):
        synthetic_microbiome(**kwargs)


def test_round_trips_through_h5ad(tmp_path, adata):
    from synthomics.io import read, write

    path = write(adata, tmp_path / "synthetic.h5ad")
    back = read(path)
    np.testing.assert_array_equal(back.X, adata.X)
    assert back.uns["tree"] == adata.uns["tree"]
    assert list(back.obs["group"].astype(str)) == list(adata.obs["group"].astype(str))
